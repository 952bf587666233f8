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

// serve answers one request following the order of the real API: the
// connection, the token and its quota, then the request itself, then the
// per-room limit.
func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	room, kind, pathOK := roomID(r.URL.Path)
	p := Post{Room: room, Kind: kind, Token: r.Header.Get("x-chatworktoken")}
	form, formErr := readForm(r)
	p.Body = form.Get("body")

	s.mu.Lock()
	now := s.clock()
	p.At = now
	if s.down {
		s.record(p)
		s.mu.Unlock()
		drop(w)
		return
	}
	status, errs, body := s.decide(w.Header(), r, p, form, formErr, pathOK)
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

// decide checks one request and returns the status and either error
// messages or a success body; it sets the x-ratelimit-* headers of a known
// token and takes the slots of the limits. s.mu must be held.
func (s *Server) decide(h http.Header, r *http.Request, p Post, form url.Values, formErr error, pathOK bool) (int, []string, any) {
	tw, ok := s.tokens[p.Token]
	if !ok {
		return http.StatusUnauthorized, []string{answerBadToken}, nil
	}
	if tw.count(p.At) >= s.opts.TokenLimit {
		s.quotaHeaders(h, tw, p)
		return http.StatusTooManyRequests, []string{answerQuota}, nil
	}
	tw.add(p.At)
	s.quotaHeaders(h, tw, p)

	if s.failN > 0 {
		s.failN--
		return s.failCode, []string{http.StatusText(s.failCode)}, nil
	}
	if r.Method != http.MethodPost {
		return http.StatusMethodNotAllowed, []string{"Method " + r.Method + " is not allowed."}, nil
	}
	if !pathOK {
		return http.StatusNotFound, []string{answerNotFound}, nil
	}
	if s.known != nil && !s.known[p.Room] {
		return http.StatusNotFound, []string{"Room " + p.Room + " not found."}, nil
	}
	if hasToken(r.URL.Query(), s.tokens) {
		return http.StatusBadRequest, []string{"The API token must be sent in the x-chatworktoken header."}, nil
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/x-www-form-urlencoded" {
		return http.StatusBadRequest, []string{"Content-Type must be application/x-www-form-urlencoded."}, nil
	}
	if formErr != nil {
		return http.StatusBadRequest, []string{"Invalid request body."}, nil
	}
	if errs := checkForm(p.Kind, form); errs != nil {
		return http.StatusBadRequest, errs, nil
	}

	rw := s.rooms[p.Room]
	if rw == nil {
		rw = &window{span: s.opts.RoomWindow}
		s.rooms[p.Room] = rw
	}
	if rw.count(p.At) >= s.opts.RoomLimit {
		return http.StatusTooManyRequests, []string{answerRoomLimit}, nil
	}
	rw.add(p.At)
	id := strconv.Itoa(len(s.requests) + 1)
	if p.Kind == "tasks" {
		n, _ := strconv.Atoi(id)
		return http.StatusOK, nil, map[string][]int{"task_ids": {n}}
	}
	return http.StatusOK, nil, map[string]string{"message_id": id}
}

// quotaHeaders sets the token's x-ratelimit-* headers.
func (s *Server) quotaHeaders(h http.Header, tw *window, p Post) {
	h.Set("x-ratelimit-limit", strconv.Itoa(s.opts.TokenLimit))
	h.Set("x-ratelimit-remaining", strconv.Itoa(max(0, s.opts.TokenLimit-tw.count(p.At))))
	reset := tw.reset(p.At)
	secs := reset.Unix()
	if reset.Nanosecond() > 0 {
		secs++
	}
	h.Set("x-ratelimit-reset", strconv.FormatInt(secs, 10))
}

// checkForm validates the fields of a message or task post.
func checkForm(kind string, form url.Values) []string {
	var errs []string
	body := form.Get("body")
	if n := delivery.Len(body); n < 1 || n > maxBody {
		errs = append(errs, fmt.Sprintf("Parameter body must be 1 to %d characters, got %d.", maxBody, n))
	}
	if kind == "messages" {
		if v, ok := form["self_unread"]; ok && v[0] != "0" && v[0] != "1" {
			errs = append(errs, "Parameter self_unread must be 0 or 1.")
		}
		return errs
	}
	ids := strings.Split(form.Get("to_ids"), ",")
	for _, id := range ids {
		if !digits(id) {
			errs = append(errs, "Parameter to_ids must be comma-separated account ids.")
			break
		}
	}
	switch lt := form.Get("limit_type"); lt {
	case "", "none", "date", "time":
	default:
		errs = append(errs, "Parameter limit_type must be none, date or time.")
	}
	if v := form.Get("limit"); v != "" && !digits(v) {
		errs = append(errs, "Parameter limit must be Unix seconds.")
	}
	return errs
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
