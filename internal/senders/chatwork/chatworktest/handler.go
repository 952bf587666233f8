package chatworktest

import (
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/relayhq/relay/internal/delivery"
)

// Answers the real API gives, word for word where the documentation shows
// them.
const (
	answerBadToken  = "Invalid API token"
	answerRoomLimit = "Rate limit for message posting per room exceeded."
	answerQuota     = "Rate limit exceeded."
	answerNotFound  = "Resource not found."
	maxBody         = 65535
	maxForm         = 1 << 20
)

// Kinds of request, by endpoint: Post.Kind.
const (
	KindMessages   = "messages"    // POST /rooms/{room_id}/messages
	KindMessage    = "message"     // PUT /rooms/{room_id}/messages/{message_id}
	KindTasks      = "tasks"       // POST /rooms/{room_id}/tasks
	KindTaskStatus = "task_status" // PUT /rooms/{room_id}/tasks/{task_id}/status
	KindMe         = "me"          // GET /me
)

// endpoint is a request's path as the fake understands it.
type endpoint struct {
	kind, room, id string
	// method is the one method the fake serves there.
	method string
}

// serve answers one request following the order of the real API: the
// connection, the token and its quota, then the request itself, then the
// per-room limit.
func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	ep, pathOK := parsePath(r.URL.Path)
	p := Post{Room: ep.room, Kind: ep.kind, ID: ep.id, Method: r.Method, Token: r.Header.Get("x-chatworktoken")}
	form, formErr := readForm(r)
	p.Body = form.Get("body")
	if !s.wait(r) {
		s.mu.Lock()
		p.At = s.clock()
		s.record(p)
		s.mu.Unlock()
		return
	}

	s.mu.Lock()
	now := s.clock()
	p.At = now
	if s.down {
		s.record(p)
		s.mu.Unlock()
		drop(w)
		return
	}
	status, errs, body := s.decide(w.Header(), r, &p, ep, form, formErr, pathOK)
	p.Status = status
	s.record(p)
	s.mu.Unlock()

	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if errs != nil {
		body = map[string][]string{"errors": errs}
	}
	_ = json.NewEncoder(w).Encode(body)
}

// wait holds r for Options.Latency and reports whether its client is
// still there.
func (s *Server) wait(r *http.Request) bool {
	if s.opts.Latency <= 0 {
		return true
	}
	s.mu.Lock()
	s.holding++
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.holding--
		s.mu.Unlock()
	}()
	t := time.NewTimer(s.opts.Latency)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
		return false
	}
}

// decide checks one request and returns the status and either error
// messages or a success body; it sets the x-ratelimit-* headers of a known
// token, takes the slots of the limits and applies an accepted request to
// the rooms. It fills in p.ID for what a request creates. s.mu must be
// held.
func (s *Server) decide(h http.Header, r *http.Request, p *Post, ep endpoint, form url.Values, formErr error, pathOK bool) (int, []string, any) {
	tw, ok := s.tokens[p.Token]
	if !ok {
		return http.StatusUnauthorized, []string{answerBadToken}, nil
	}
	if tw.count(p.At) >= s.opts.TokenLimit {
		s.quotaHeaders(h, tw, p.At)
		return http.StatusTooManyRequests, []string{answerQuota}, nil
	}
	tw.add(p.At)
	s.quotaHeaders(h, tw, p.At)

	if s.failN > 0 {
		s.failN--
		return s.failCode, []string{http.StatusText(s.failCode)}, nil
	}
	if !pathOK {
		return http.StatusNotFound, []string{answerNotFound}, nil
	}
	if r.Method != ep.method {
		return http.StatusMethodNotAllowed, []string{"Method " + r.Method + " is not allowed."}, nil
	}
	if ep.room != "" && s.known != nil && !s.known[ep.room] {
		return http.StatusNotFound, []string{"Room " + ep.room + " not found."}, nil
	}
	if hasToken(r.URL.Query(), s.tokens) {
		return http.StatusBadRequest, []string{"The API token must be sent in the x-chatworktoken header."}, nil
	}
	if ep.kind == KindMe {
		return http.StatusOK, nil, map[string]any{
			"account_id": s.account.id, "name": s.account.name,
			"room_id": 1, "chatwork_id": "", "organization_id": 1, "avatar_image_url": "",
		}
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/x-www-form-urlencoded" {
		return http.StatusBadRequest, []string{"Content-Type must be application/x-www-form-urlencoded."}, nil
	}
	if formErr != nil {
		return http.StatusBadRequest, []string{"Invalid request body."}, nil
	}
	if errs := checkForm(ep.kind, form); errs != nil {
		return http.StatusBadRequest, errs, nil
	}

	rm := s.room(ep.room)
	switch ep.kind {
	case KindMessage:
		m := rm.message(ep.id)
		if m == nil {
			return http.StatusNotFound, []string{"Message " + ep.id + " not found."}, nil
		}
		m.History = append(m.History, m.Body)
		m.Body = p.Body
		return http.StatusOK, nil, map[string]string{"message_id": m.ID}
	case KindTaskStatus:
		t := rm.task(ep.id)
		if t == nil {
			return http.StatusNotFound, []string{"Task " + ep.id + " not found."}, nil
		}
		t.Status = p.Body
		return http.StatusOK, nil, map[string]int{"task_id": t.id}
	}

	if rm.window.count(p.At) >= s.opts.RoomLimit {
		return http.StatusTooManyRequests, []string{answerRoomLimit}, nil
	}
	rm.window.add(p.At)
	if ep.kind == KindTasks {
		ids := rm.addTasks(s, form, p.At)
		p.ID = joinIDs(ids)
		return http.StatusOK, nil, map[string][]int{"task_ids": ids}
	}
	m := rm.addMessage(s.nextMessageID(), p.Body)
	p.ID = m.ID
	return http.StatusOK, nil, map[string]string{"message_id": m.ID}
}

// quotaHeaders sets the token's x-ratelimit-* headers.
func (s *Server) quotaHeaders(h http.Header, tw *window, now time.Time) {
	h.Set("x-ratelimit-limit", strconv.Itoa(s.opts.TokenLimit))
	h.Set("x-ratelimit-remaining", strconv.Itoa(max(0, s.opts.TokenLimit-tw.count(now))))
	reset := tw.reset(now)
	secs := reset.Unix()
	if reset.Nanosecond() > 0 {
		secs++
	}
	h.Set("x-ratelimit-reset", strconv.FormatInt(secs, 10))
}

// checkForm validates the fields of a request of kind.
func checkForm(kind string, form url.Values) []string {
	var errs []string
	body := form.Get("body")
	if kind == KindTaskStatus {
		if body != "done" && body != "open" {
			errs = append(errs, "Parameter body must be done or open.")
		}
		return errs
	}
	if n := delivery.Len(body); n < 1 || n > maxBody {
		errs = append(errs, fmt.Sprintf("Parameter body must be 1 to %d characters, got %d.", maxBody, n))
	}
	switch kind {
	case KindMessages:
		if v, ok := form["self_unread"]; ok && v[0] != "0" && v[0] != "1" {
			errs = append(errs, "Parameter self_unread must be 0 or 1.")
		}
	case KindTasks:
		for _, id := range strings.Split(form.Get("to_ids"), ",") {
			if !digits(id) {
				errs = append(errs, "Parameter to_ids must be comma-separated account ids.")
				break
			}
		}
		lt := form.Get("limit_type")
		switch lt {
		case "", "none", "date", "time":
		default:
			errs = append(errs, "Parameter limit_type must be none, date or time.")
		}
		if v := form.Get("limit"); v != "" && !digits(v) {
			errs = append(errs, "Parameter limit must be Unix seconds.")
		} else if v == "" && (lt == "date" || lt == "time") {
			errs = append(errs, "Parameter limit is required when limit_type is "+lt+".")
		}
	}
	return errs
}

// parsePath returns the endpoint of a /v2 path: /me,
// /rooms/{id}/messages[/{message_id}] or
// /rooms/{id}/tasks[/{task_id}/status].
func parsePath(path string) (endpoint, bool) {
	rest, found := strings.CutPrefix(path, "/v2/")
	if !found {
		return endpoint{}, false
	}
	if rest == "me" {
		return endpoint{kind: KindMe, method: http.MethodGet}, true
	}
	parts := strings.Split(rest, "/")
	if len(parts) < 3 || parts[0] != "rooms" || !digits(parts[1]) {
		return endpoint{}, false
	}
	e := endpoint{room: parts[1]}
	switch {
	case len(parts) == 3 && parts[2] == "messages":
		e.kind, e.method = KindMessages, http.MethodPost
	case len(parts) == 4 && parts[2] == "messages" && digits(parts[3]):
		e.kind, e.method, e.id = KindMessage, http.MethodPut, parts[3]
	case len(parts) == 3 && parts[2] == "tasks":
		e.kind, e.method = KindTasks, http.MethodPost
	case len(parts) == 5 && parts[2] == "tasks" && digits(parts[3]) && parts[4] == "status":
		e.kind, e.method, e.id = KindTaskStatus, http.MethodPut, parts[3]
	default:
		return endpoint{}, false
	}
	return e, true
}

// readForm parses a url-encoded request body without looking at its
// Content-Type (which serve checks separately) or the query string.
func readForm(r *http.Request) (url.Values, error) {
	b, err := io.ReadAll(io.LimitReader(r.Body, maxForm))
	if err != nil {
		return url.Values{}, err
	}
	form, err := url.ParseQuery(string(b))
	if err != nil {
		return url.Values{}, err
	}
	return form, nil
}

// hasToken reports whether a query string carries a credential: a key that
// mentions a token, or any known token as a value.
func hasToken(q url.Values, tokens map[string]*window) bool {
	for k, vs := range q {
		if strings.Contains(strings.ToLower(k), "token") {
			return true
		}
		for _, v := range vs {
			if _, ok := tokens[v]; ok {
				return true
			}
		}
	}
	return false
}

// drop closes the connection without an answer.
func drop(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	_ = conn.Close()
}
