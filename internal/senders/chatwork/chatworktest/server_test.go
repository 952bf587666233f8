package chatworktest

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

const token = "tok-123"

// clock is a settable time source for the limit tests.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Unix(1_700_000_000, 0)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

type answer struct {
	status int
	header http.Header
	errors []string
	raw    string
}

type request struct {
	method, path, token, contentType, query string
	form                                    url.Values
}

func do(t *testing.T, s *Server, r request) answer {
	t.Helper()
	if r.method == "" {
		r.method = http.MethodPost
	}
	if r.contentType == "" {
		r.contentType = "application/x-www-form-urlencoded"
	}
	target := s.URL() + r.path
	if r.query != "" {
		target += "?" + r.query
	}
	req, err := http.NewRequest(r.method, target, strings.NewReader(r.form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	if r.token != "" {
		req.Header.Set("x-chatworktoken", r.token)
	}
	req.Header.Set("Content-Type", r.contentType)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	a := answer{status: resp.StatusCode, header: resp.Header, raw: string(b)}
	var e struct{ Errors []string }
	if json.Unmarshal(b, &e) == nil {
		a.errors = e.Errors
	}
	return a
}

func message(room, body string) request {
	return request{path: "/rooms/" + room + "/messages", token: token, form: url.Values{"body": {body}}}
}

func TestRejectsWhatChatworkRejects(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("あ", 65536)
	cases := []struct {
		name   string
		req    request
		status int
	}{
		{"no token", request{path: "/rooms/1/messages", form: url.Values{"body": {"x"}}}, 401},
		{"unknown token", request{path: "/rooms/1/messages", token: "nope", form: url.Values{"body": {"x"}}}, 401},
		{"GET", request{method: http.MethodGet, path: "/rooms/1/messages", token: token}, 405},
		{"PUT", request{method: http.MethodPut, path: "/rooms/1/messages", token: token, form: url.Values{"body": {"x"}}}, 405},
		{"unknown path", request{path: "/rooms/1/files", token: token, form: url.Values{"body": {"x"}}}, 404},
		{"room not numeric", request{path: "/rooms/abc/messages", token: token, form: url.Values{"body": {"x"}}}, 404},
		{"unknown room", request{path: "/rooms/99/messages", token: token, form: url.Values{"body": {"x"}}}, 404},
		{"JSON body", request{path: "/rooms/1/messages", token: token, contentType: "application/json", form: url.Values{"body": {"x"}}}, 400},
		{"multipart", request{path: "/rooms/1/messages", token: token, contentType: "multipart/form-data; boundary=x", form: url.Values{"body": {"x"}}}, 400},
		{"token in query", request{path: "/rooms/1/messages", token: token, query: "token=" + token, form: url.Values{"body": {"x"}}}, 400},
		{"no body field", request{path: "/rooms/1/messages", token: token, form: url.Values{"text": {"x"}}}, 400},
		{"empty body", request{path: "/rooms/1/messages", token: token, form: url.Values{"body": {""}}}, 400},
		{"body over 65535", request{path: "/rooms/1/messages", token: token, form: url.Values{"body": {long}}}, 400},
		{"bad self_unread", request{path: "/rooms/1/messages", token: token, form: url.Values{"body": {"x"}, "self_unread": {"yes"}}}, 400},
		{"task without to_ids", request{path: "/rooms/1/tasks", token: token, form: url.Values{"body": {"x"}}}, 400},
		{"task bad limit_type", request{path: "/rooms/1/tasks", token: token, form: url.Values{"body": {"x"}, "to_ids": {"7"}, "limit_type": {"soon"}}}, 400},
		{"message", message("1", "hello"), 200},
		{"message at the limit", message("1", strings.Repeat("あ", 65535)), 200},
		{"task", request{path: "/rooms/1/tasks", token: token, form: url.Values{"body": {"x"}, "to_ids": {"7,8"}, "limit_type": {"time"}, "limit": {"1700000000"}}}, 200},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			s := NewServer(t, Options{Tokens: []string{token}, Rooms: []string{"1"}})
			a := do(t, s, c.req)
			if a.status != c.status {
				t.Fatalf("got %d, want %d (%s)", a.status, c.status, a.raw)
			}
			if c.status != 200 && len(a.errors) == 0 {
				t.Errorf("answer %q has no errors list", a.raw)
			}
			if c.status == 401 {
				if a.errors[0] != "Invalid API token" {
					t.Errorf("got %q, want the real 401 answer", a.errors[0])
				}
			} else if a.header.Get("x-ratelimit-remaining") != "299" {
				t.Errorf("got remaining %q, want 299: every request of a known token counts", a.header.Get("x-ratelimit-remaining"))
			}
			if got := len(s.Posts("1")); (c.status == 200) != (got == 1) {
				t.Errorf("got %d accepted posts for status %d", got, c.status)
			}
		})
	}
}

func TestRoomLimitWithRealDefaults(t *testing.T) {
	t.Parallel()
	s := NewServer(t, Options{Tokens: []string{token}})
	for i := 1; i <= 10; i++ {
		if a := do(t, s, message("42", "m"+strconv.Itoa(i))); a.status != 200 {
			t.Fatalf("post %d: got %d, want 200", i, a.status)
		}
	}
	a := do(t, s, message("42", "m11"))
	if a.status != http.StatusTooManyRequests {
		t.Fatalf("11th post: got %d, want 429", a.status)
	}
	if len(a.errors) != 1 || a.errors[0] != "Rate limit for message posting per room exceeded." {
		t.Errorf("got %q, want the real per-room answer", a.raw)
	}
	if got := a.header.Get("x-ratelimit-remaining"); got != "289" {
		t.Errorf("got remaining %q, want 289 (the 429 counts toward the token)", got)
	}
	if got := do(t, s, message("43", "other room")).status; got != 200 {
		t.Errorf("another room: got %d, want 200", got)
	}
	if got, want := len(s.Posts("42")), 10; got != want {
		t.Errorf("got %d accepted posts, want %d", got, want)
	}
	if got := s.Count(429); got != 1 {
		t.Errorf("Count(429) = %d, want 1", got)
	}
	if got := s.MaxInWindow("42", 10*time.Second); got != 10 {
		t.Errorf("MaxInWindow = %d, want 10", got)
	}
}

func TestRoomLimitCountsTasksAndAllTokensAndSlides(t *testing.T) {
	t.Parallel()
	c := newClock()
	s := NewServer(t, Options{Tokens: []string{token, "tok-2"}, RoomLimit: 3, RoomWindow: 10 * time.Second, Clock: c.Now})
	task := request{path: "/rooms/5/tasks", token: "tok-2", form: url.Values{"body": {"t"}, "to_ids": {"1"}}}
	for i, r := range []request{message("5", "a"), task, message("5", "b")} {
		if a := do(t, s, r); a.status != 200 {
			t.Fatalf("post %d: got %d (%s)", i, a.status, a.raw)
		}
		c.Add(time.Second)
	}
	if a := do(t, s, task); a.status != 429 {
		t.Fatalf("4th post in 10 s: got %d, want 429", a.status)
	}
	c.Add(7 * time.Second) // the first post is now 10 s old
	if a := do(t, s, message("5", "c")); a.status != 200 {
		t.Fatalf("after the first post left the window: got %d, want 200", a.status)
	}
	if got := s.MaxInWindow("5", 10*time.Second); got != 3 {
		t.Errorf("MaxInWindow = %d, want 3", got)
	}
}

func TestTokenQuota(t *testing.T) {
	t.Parallel()
	c := newClock()
	start := c.Now()
	s := NewServer(t, Options{Tokens: []string{token}, TokenLimit: 3, TokenWindow: time.Minute, Clock: c.Now})
	do(t, s, request{path: "/nowhere", token: token}) // rejected, still counted
	c.Add(time.Second)
	do(t, s, message("1", "a"))
	do(t, s, message("2", "b"))
	a := do(t, s, message("3", "c"))
	if a.status != 429 {
		t.Fatalf("4th request: got %d, want 429", a.status)
	}
	if got := a.header.Get("x-ratelimit-remaining"); got != "0" {
		t.Errorf("got remaining %q, want 0", got)
	}
	if got, want := a.header.Get("x-ratelimit-reset"), strconv.FormatInt(start.Add(time.Minute).Unix(), 10); got != want {
		t.Errorf("got reset %s, want %s", got, want)
	}
	if len(a.errors) == 0 || strings.Contains(a.errors[0], "per room") {
		t.Errorf("got %q, want a token quota answer, not the per-room one", a.raw)
	}
	c.Add(59 * time.Second) // only the first request has left the window
	if a := do(t, s, message("3", "c")); a.status != 200 || a.header.Get("x-ratelimit-remaining") != "0" {
		t.Errorf("after the first request left: got %d remaining %s, want 200 remaining 0", a.status, a.header.Get("x-ratelimit-remaining"))
	}
}

func TestFailNextAndDown(t *testing.T) {
	t.Parallel()
	s := NewServer(t, Options{Tokens: []string{token}})
	s.FailNext(2, 503)
	for i := range 2 {
		if a := do(t, s, message("1", "x")); a.status != 503 || len(a.errors) == 0 {
			t.Fatalf("request %d: got %d %q, want 503 with errors", i, a.status, a.raw)
		}
	}
	if a := do(t, s, message("1", "x")); a.status != 200 {
		t.Fatalf("after FailNext: got %d, want 200", a.status)
	}
	s.SetDown(true)
	req, _ := http.NewRequest(http.MethodPost, s.URL()+"/rooms/1/messages", strings.NewReader("body=x"))
	req.Header.Set("x-chatworktoken", token)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("while down: got status %d, want a transport error", resp.StatusCode)
	}
	s.SetDown(false)
	if got := len(s.Requests()); got != 4 {
		t.Errorf("got %d requests, want 4", got)
	}
	if !s.WaitPosts("1", 1, time.Second) || s.WaitPosts("1", 2, 10*time.Millisecond) {
		t.Error("WaitPosts disagrees with the one accepted post")
	}
}

func TestMaxIn(t *testing.T) {
	t.Parallel()
	at := func(ms ...int) []time.Time {
		var ts []time.Time
		for _, m := range ms {
			ts = append(ts, time.UnixMilli(int64(m)))
		}
		return ts
	}
	cases := []struct {
		name  string
		times []time.Time
		want  int
	}{
		{"none", nil, 0},
		{"spread", at(0, 1000, 2000), 1},
		{"edge excluded", at(0, 500, 1000, 1500), 2},
		{"burst inside", at(0, 1200, 1300, 1900, 2300), 3},
	}
	for _, c := range cases {
		if got := maxIn(c.times, time.Second); got != c.want {
			t.Errorf("%s: got %d, want %d", c.name, got, c.want)
		}
	}
}

func TestLatencyHoldsRequestsAndAClientThatLeavesHasNothingDone(t *testing.T) {
	t.Parallel()
	slow := NewServer(t, Options{Tokens: []string{token}, Latency: time.Hour})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, slow.URL()+"/rooms/1/messages", strings.NewReader("body=x"))
	req.Header.Set("x-chatworktoken", token)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	errc := make(chan error, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		errc <- err
	}()
	for slow.Holding() == 0 && ctx.Err() == nil {
		time.Sleep(time.Millisecond)
	}
	if err := <-errc; err == nil {
		t.Fatal("got an answer from a fake an hour slow, want the client's timeout")
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(slow.Requests()) == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if n := slow.Holding(); n != 0 {
		t.Errorf("holding %d requests after the client left, want none", n)
	}
	if got := slow.Requests(); len(got) != 1 || got[0].Status != 0 {
		t.Fatalf("got requests %+v, want one dropped (status 0)", got)
	}
	if n := len(slow.Posts("1")); n != 0 {
		t.Errorf("got %d posts from a client that left, want none", n)
	}

	patient := NewServer(t, Options{Tokens: []string{token}, Latency: time.Millisecond, RoomLimit: 1})
	if a := do(t, patient, message("1", "x")); a.status != 200 {
		t.Fatalf("got %d %q, want 200 after the latency", a.status, a.raw)
	}
	if a := do(t, patient, message("1", "y")); a.status != 429 {
		t.Errorf("second post: got %d, want 429: the room limit still holds", a.status)
	}
}
