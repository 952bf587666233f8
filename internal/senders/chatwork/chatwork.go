// Package chatwork posts messages to Chatwork rooms through API v2. A Sender
// makes exactly one request per call and classifies every failure as a
// *delivery.Error; it never retries or sleeps.
package chatwork

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/relayhq/relay/internal/delivery"
	"github.com/relayhq/relay/internal/secret"
	"github.com/relayhq/relay/internal/senders/internal/upstream"
)

// perRoomAnswer is how Chatwork words a 429 for the per-room post limit.
const perRoomAnswer = "per room"

// roomPause is how long Chatwork asks to wait after a per-room 429.
const roomPause = 10 * time.Second

// Sender posts to Chatwork. It is safe for concurrent use.
type Sender struct {
	name       string
	base       *url.URL
	token      secret.Secret
	scrubber   *secret.Scrubber
	selfUnread string
	client     *http.Client
	logger     *zap.Logger
	now        func() time.Time
	tok        tokenState
}

// New returns a Sender for cfg. It checks the base URL and that a token is
// set; it does not contact Chatwork.
func New(cfg Config, client *http.Client, logger *zap.Logger) (*Sender, error) {
	raw := cfg.APIURL
	if raw == "" {
		raw = DefaultAPIURL
	}
	base, err := upstream.ParseBaseURL(raw)
	if err != nil {
		return nil, fmt.Errorf("chatwork: %w", err)
	}
	if !upstream.ValidToken(cfg.Token.Reveal()) {
		return nil, errNoToken
	}
	if client == nil {
		client = http.DefaultClient
	}
	if logger == nil {
		logger = zap.NewNop()
	}
	s := &Sender{
		name: cfg.Name, base: base, token: cfg.Token, scrubber: cfg.Scrub, selfUnread: "0",
		client: client, logger: logger, now: time.Now,
	}
	if s.scrubber == nil {
		s.scrubber = secret.NewScrubber(cfg.Token)
	}
	if cfg.SelfUnread {
		s.selfUnread = "1"
	}
	return s, nil
}

// Send posts body to the room of dest.Address ("room/{room_id}") with POST
// /rooms/{room_id}/messages.
// An invalid room id or a body that is empty or longer than MaxBodyLen fails
// as Permanent without a request.
func (s *Sender) Send(ctx context.Context, dest delivery.Destination, body string) (delivery.Receipt, error) {
	room := Room(dest.Address)
	if err := checkPost(room, body); err != nil {
		return delivery.Receipt{}, err
	}
	form := url.Values{"body": {body}, "self_unread": {s.selfUnread}}
	var res struct {
		MessageID json.RawMessage `json:"message_id"`
	}
	q, err := s.post(ctx, "rooms/"+room+"/messages", form, &res)
	if err != nil {
		return delivery.Receipt{Quota: q}, err
	}
	return delivery.Receipt{MessageID: idString(res.MessageID), Quota: q}, nil
}

// AddTask adds a task for the accounts toIDs in room with POST
// /rooms/{room_id}/tasks. A zero limit means no deadline. Tasks count
// toward the same per-room limit as messages. The receipt's MessageID holds
// the new task ids, comma-separated.
func (s *Sender) AddTask(ctx context.Context, room, body string, toIDs []string, limit time.Time) (delivery.Receipt, error) {
	if err := checkPost(room, body); err != nil {
		return delivery.Receipt{}, err
	}
	if len(toIDs) == 0 {
		return delivery.Receipt{}, &delivery.Error{Class: delivery.Permanent, Reason: "no_assignee"}
	}
	for _, id := range toIDs {
		if !digits(id) {
			return delivery.Receipt{}, &delivery.Error{Class: delivery.Permanent, Reason: "bad_account",
				Answer: upstream.Truncate(id)}
		}
	}
	form := url.Values{"body": {body}, "to_ids": {strings.Join(toIDs, ",")}, "limit_type": {"none"}}
	if !limit.IsZero() {
		form.Set("limit", strconv.FormatInt(limit.Unix(), 10))
		form.Set("limit_type", "time")
	}
	var res struct {
		TaskIDs []json.RawMessage `json:"task_ids"`
	}
	q, err := s.post(ctx, "rooms/"+room+"/tasks", form, &res)
	if err != nil {
		return delivery.Receipt{Quota: q}, err
	}
	ids := make([]string, 0, len(res.TaskIDs))
	for _, id := range res.TaskIDs {
		ids = append(ids, idString(id))
	}
	return delivery.Receipt{MessageID: strings.Join(ids, ","), Quota: q}, nil
}

// post sends form to path below the base URL with POST and decodes a 2xx
// answer into out. A 2xx answer that does not decode is still a success:
// the post was made, and failing it would post it again.
func (s *Sender) post(ctx context.Context, path string, form url.Values, out any) (delivery.Quota, error) {
	return s.send(ctx, http.MethodPost, path, form, out)
}

// send makes one request and decodes a 2xx answer into out, logging an
// answer that does not decode; see post.
func (s *Sender) send(ctx context.Context, method, path string, form url.Values, out any) (delivery.Quota, error) {
	answer, q, err := s.do(ctx, method, path, form)
	if err != nil {
		return q, err
	}
	if err := json.Unmarshal(answer, out); err != nil {
		s.logger.Warn("chatwork accepted a request but its answer did not decode",
			zap.String("method", method), zap.String("answer", upstream.Truncate(s.scrub(string(answer)))))
	}
	return q, nil
}

// do makes one request to path below the base URL, form-encoded when form
// is not nil, and returns a 2xx answer as it came (nil when it could not be
// read whole) or a classified error.
func (s *Sender) do(ctx context.Context, method, path string, form url.Values) ([]byte, delivery.Quota, error) {
	endpoint := s.base.JoinPath(path)
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, method, endpoint.String(), body)
	if err != nil {
		return nil, delivery.Quota{}, &delivery.Error{Class: delivery.Permanent, Reason: "bad_request",
			Err: fmt.Errorf("build request: %w", err)}
	}
	req.Header.Set("x-chatworktoken", s.token.Reveal())
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.Header.Set("Accept", "application/json")

	resp, err := s.client.Do(req)
	if err != nil {
		return nil, delivery.Quota{}, upstream.TransportError(ctx, fmt.Errorf("%s to chatwork: %w", strings.ToLower(method), err))
	}
	answer, readErr := upstream.ReadAnswer(resp)
	q := quota(resp.Header)
	s.tok.noteStatus(resp.StatusCode)
	s.logger.Debug("chatwork answered", zap.String("method", method), zap.String("path", endpoint.Path),
		zap.Int("status", resp.StatusCode), zap.Int("remaining", q.Remaining))

	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		if readErr != nil {
			answer = nil
		}
		return answer, q, nil
	}
	return nil, q, s.statusError(resp, answer, q)
}

// statusError classifies a non-2xx answer. For 429 it tells the per-room
// limit from a spent token quota and says how long to pause.
// A 429 is token-wide when x-ratelimit-remaining is 0 and the answer is not
// the per-room one; it then lasts until x-ratelimit-reset.
func (s *Sender) statusError(resp *http.Response, answer []byte, q delivery.Quota) *delivery.Error {
	now := s.now()
	e := upstream.StatusError(resp, s.scrub(errorsAnswer(answer)), now)
	if e.Class != delivery.RateLimited {
		return e
	}
	perRoom := strings.Contains(strings.ToLower(e.Answer), perRoomAnswer)
	e.TokenWide = !perRoom && strings.TrimSpace(resp.Header.Get("x-ratelimit-remaining")) == "0"
	switch {
	case e.TokenWide && q.Reset.After(now):
		e.Until = q.Reset
	case !e.Until.IsZero():
		// Retry-After, as StatusError read it.
	default:
		e.Until = now.Add(roomPause)
	}
	return e
}

// scrub removes every configured credential from an upstream answer,
// should one ever echo it.
func (s *Sender) scrub(answer string) string { return s.scrubber.Scrub(answer) }

// checkPost rejects what Chatwork would reject, before any request.
func checkPost(room, body string) error {
	if !digits(room) {
		return &delivery.Error{Class: delivery.Permanent, Reason: "bad_room", Answer: upstream.Truncate(room)}
	}
	if body == "" {
		return &delivery.Error{Class: delivery.Permanent, Reason: "empty_body"}
	}
	if n := delivery.Len(body); n > MaxBodyLen {
		return &delivery.Error{Class: delivery.Permanent, Reason: "too_long",
			Answer: fmt.Sprintf("body is %d characters, limit %d", n, MaxBodyLen)}
	}
	return nil
}

// errorsAnswer renders Chatwork's {"errors": [...]} answer as one line, or
// the raw answer when it has another shape.
func errorsAnswer(b []byte) string {
	var res struct {
		Errors []string `json:"errors"`
	}
	if err := json.Unmarshal(b, &res); err == nil && len(res.Errors) > 0 {
		return strings.Join(res.Errors, "; ")
	}
	return string(bytes.TrimSpace(b))
}

// quota reads the x-ratelimit-* headers; missing headers leave zero fields.
func quota(h http.Header) delivery.Quota {
	var q delivery.Quota
	q.Limit, _ = strconv.Atoi(h.Get("x-ratelimit-limit"))
	q.Remaining, _ = strconv.Atoi(h.Get("x-ratelimit-remaining"))
	if reset, err := strconv.ParseInt(h.Get("x-ratelimit-reset"), 10, 64); err == nil && reset > 0 {
		q.Reset = time.Unix(reset, 0)
	}
	return q
}

// idString returns a JSON string or number id as text.
func idString(raw json.RawMessage) string {
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s
	}
	var n json.Number
	if err := json.Unmarshal(raw, &n); err == nil {
		return n.String()
	}
	return ""
}

func digits(s string) bool {
	if s == "" || len(s) > 20 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
