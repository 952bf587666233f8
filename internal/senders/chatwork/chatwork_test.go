package chatwork

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/relayhq/relay/internal/delivery"
	"github.com/relayhq/relay/internal/secret"
	"github.com/relayhq/relay/internal/senders/chatwork/chatworktest"
)

const token = "cw-token-s3cr3t"

var now = time.Unix(1_700_000_000, 0)

func newSender(t *testing.T, apiURL string, logger *zap.Logger) *Sender {
	t.Helper()
	if logger == nil {
		logger = zap.NewNop()
	}
	s, err := New(Config{Name: "chatwork", APIURL: apiURL, Token: secret.New(token)}, &http.Client{}, logger)
	if err != nil {
		t.Fatal(err)
	}
	s.now = func() time.Time { return now }
	return s
}

func room(id string) delivery.Destination {
	return delivery.Destination{Sender: "chatwork", Address: Address(id)}
}

func asError(t *testing.T, err error) *delivery.Error {
	t.Helper()
	var e *delivery.Error
	if !errors.As(err, &e) {
		t.Fatalf("got %v, want a *delivery.Error", err)
	}
	return e
}

func TestSendPostsOneMessage(t *testing.T) {
	t.Parallel()
	fake := chatworktest.NewServer(t, chatworktest.Options{Tokens: []string{token}, Rooms: []string{"42"}})
	s := newSender(t, fake.URL(), nil)

	rc, err := s.Send(context.Background(), room("42"), "[info]disk full & 100%[/info]")
	if err != nil {
		t.Fatal(err)
	}
	posts := fake.Posts("42")
	if len(posts) != 1 || posts[0].Body != "[info]disk full & 100%[/info]" || posts[0].Kind != "messages" {
		t.Fatalf("got posts %+v, want the one message", posts)
	}
	if rc.MessageID == "" {
		t.Error("receipt has no message id")
	}
	if rc.Quota.Limit != 300 || rc.Quota.Remaining != 299 || rc.Quota.Reset.IsZero() {
		t.Errorf("got quota %+v, want 300/299 with a reset", rc.Quota)
	}
}

func TestSendFormAndHeaders(t *testing.T) {
	t.Parallel()
	var got *http.Request
	var form url.Values
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.Clone(context.Background())
		_ = r.ParseForm()
		form = r.PostForm
		_, _ = w.Write([]byte(`{"message_id": 1234}`))
	}))
	t.Cleanup(srv.Close)
	s, err := New(Config{APIURL: srv.URL + "/v2/", Token: secret.New(token), SelfUnread: true}, srv.Client(), nil)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := s.Send(context.Background(), room("7"), "a=b&c")
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct{ name, got, want string }{
		{"path", got.URL.Path, "/v2/rooms/7/messages"},
		{"query", got.URL.RawQuery, ""},
		{"token header", got.Header.Get("x-chatworktoken"), token},
		{"content type", got.Header.Get("Content-Type"), "application/x-www-form-urlencoded"},
		{"body", form.Get("body"), "a=b&c"},
		{"self_unread", form.Get("self_unread"), "1"},
		{"numeric message id", rc.MessageID, "1234"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: got %q, want %q", c.name, c.got, c.want)
		}
	}
}

func TestSendRejectsBeforeAnyRequest(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, room, body, reason string
	}{
		{"room not numeric", "abc", "x", "bad_room"},
		{"room with path", "1/../2", "x", "bad_room"},
		{"no room", "", "x", "bad_room"},
		{"empty body", "1", "", "empty_body"},
		{"body over 65535", "1", strings.Repeat("🔥", 32768), "too_long"},
	}
	fake := chatworktest.NewServer(t, chatworktest.Options{Tokens: []string{token}})
	s := newSender(t, fake.URL(), nil)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := s.Send(context.Background(), room(c.room), c.body)
			e := asError(t, err)
			if e.Class != delivery.Permanent || e.Reason != c.reason {
				t.Errorf("got %v %q, want permanent %q", e.Class, e.Reason, c.reason)
			}
		})
	}
	// An address that is not a room's names no room, however it looks.
	for _, addr := range []string{"42", "panel/42", ""} {
		_, err := s.Send(context.Background(), delivery.Destination{Sender: "chatwork", Address: addr}, "x")
		if e := asError(t, err); e.Class != delivery.Permanent || e.Reason != "bad_room" {
			t.Errorf("address %q: got %v %q, want permanent bad_room", addr, e.Class, e.Reason)
		}
	}
	if n := len(fake.Requests()); n != 0 {
		t.Errorf("got %d requests, want none", n)
	}
}

func TestSendClassifiesFakeFailures(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name      string
		opts      chatworktest.Options
		setup     func(*chatworktest.Server, *Sender)
		token     string
		class     delivery.Class
		reason    string
		status    int
		answer    string
		tokenWide bool
		until     func(*delivery.Error) bool
	}{
		{name: "bad token", token: "wrong", class: delivery.Permanent, reason: "http_401", status: 401, answer: "Invalid API token"},
		{name: "unknown room", opts: chatworktest.Options{Rooms: []string{"1"}}, class: delivery.Permanent, reason: "http_404", status: 404},
		{name: "server error", setup: func(f *chatworktest.Server, _ *Sender) { f.FailNext(1, 500) }, class: delivery.Retryable, reason: "http_500", status: 500},
		{name: "unavailable", setup: func(f *chatworktest.Server, _ *Sender) { f.FailNext(1, 503) }, class: delivery.Retryable, reason: "http_503", status: 503},
		{name: "forbidden", setup: func(f *chatworktest.Server, _ *Sender) { f.FailNext(1, 403) }, class: delivery.Permanent, reason: "http_403", status: 403},
		{name: "down", setup: func(f *chatworktest.Server, _ *Sender) { f.SetDown(true) }, class: delivery.Retryable, reason: "transport"},
		{
			name: "per-room limit", opts: chatworktest.Options{RoomLimit: 1},
			setup: func(_ *chatworktest.Server, s *Sender) { _, _ = s.Send(context.Background(), room("9"), "first") },
			class: delivery.RateLimited, reason: "http_429", status: 429,
			answer: "Rate limit for message posting per room exceeded.",
			until:  func(e *delivery.Error) bool { return e.Until.Equal(now.Add(10 * time.Second)) },
		},
		{
			name: "token quota", opts: chatworktest.Options{TokenLimit: 1},
			setup: func(_ *chatworktest.Server, s *Sender) { _, _ = s.Send(context.Background(), room("8"), "first") },
			class: delivery.RateLimited, reason: "http_429", status: 429, tokenWide: true,
			until: func(e *delivery.Error) bool {
				return e.Until.After(time.Now().Add(4*time.Minute)) && !e.Until.After(time.Now().Add(5*time.Minute+time.Second))
			},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.opts.Tokens = []string{token}
			fake := chatworktest.NewServer(t, c.opts)
			s := newSender(t, fake.URL(), nil)
			if c.token != "" {
				s.token = secret.New(c.token)
			}
			if c.setup != nil {
				c.setup(fake, s)
			}
			before := len(fake.Posts("9"))
			_, err := s.Send(context.Background(), room("9"), "alert")
			e := asError(t, err)
			if e.Class != c.class || e.Reason != c.reason || e.Status != c.status {
				t.Errorf("got %v %q %d, want %v %q %d", e.Class, e.Reason, e.Status, c.class, c.reason, c.status)
			}
			if c.answer != "" && e.Answer != c.answer {
				t.Errorf("got answer %q, want %q", e.Answer, c.answer)
			}
			if e.TokenWide != c.tokenWide {
				t.Errorf("got TokenWide %v, want %v", e.TokenWide, c.tokenWide)
			}
			if c.until != nil && !c.until(e) {
				t.Errorf("Until %v is not what the upstream asked for", e.Until)
			}
			if after := len(fake.Posts("9")); after != before {
				t.Errorf("got %d accepted posts after a failed send, want %d", after, before)
			}
		})
	}
}

func TestSendReadsRetryAfter(t *testing.T) {
	t.Parallel()
	date := now.Add(90 * time.Second).UTC()
	cases := []struct {
		name   string
		header map[string]string
		body   string
		class  delivery.Class
		wide   bool
		until  time.Time
		answer string
	}{
		{"seconds", map[string]string{"Retry-After": "30"}, `{"errors":["slow down"]}`, delivery.RateLimited, false, now.Add(30 * time.Second), "slow down"},
		{"http date", map[string]string{"Retry-After": date.Format(http.TimeFormat)}, `{}`, delivery.RateLimited, false, date, "{}"},
		{"reset wins when the token is spent", map[string]string{"Retry-After": "5", "x-ratelimit-remaining": "0", "x-ratelimit-reset": "1700000200"}, `{"errors":["quota"]}`, delivery.RateLimited, true, time.Unix(1_700_000_200, 0), "quota"},
		{"per-room answer is never token-wide", map[string]string{"x-ratelimit-remaining": "0", "x-ratelimit-reset": "1700000200"}, `{"errors":["Rate limit for message posting per room exceeded."]}`, delivery.RateLimited, false, now.Add(10 * time.Second), "Rate limit for message posting per room exceeded."},
		{"bad gateway HTML", nil, "<html>502 Bad Gateway</html>", delivery.Retryable, false, time.Time{}, "<html>502 Bad Gateway</html>"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			status := http.StatusTooManyRequests
			if c.class == delivery.Retryable {
				status = http.StatusBadGateway
			}
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				for k, v := range c.header {
					w.Header().Set(k, v)
				}
				w.WriteHeader(status)
				_, _ = w.Write([]byte(c.body))
			}))
			t.Cleanup(srv.Close)
			_, err := newSender(t, srv.URL, nil).Send(context.Background(), room("1"), "x")
			e := asError(t, err)
			if e.Class != c.class || e.TokenWide != c.wide || !e.Until.Equal(c.until) || e.Answer != c.answer {
				t.Errorf("got %v wide=%v until=%v answer=%q, want %v wide=%v until=%v answer=%q",
					e.Class, e.TokenWide, e.Until, e.Answer, c.class, c.wide, c.until, c.answer)
			}
		})
	}
}

func TestSendHonoursContext(t *testing.T) {
	t.Parallel()
	stop := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body) // so the server notices the client leave
		select {
		case <-r.Context().Done():
		case <-stop:
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(stop) }) // runs first: never leave a handler blocked
	s := newSender(t, srv.URL, nil)

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := s.Send(ctx, room("1"), "x")
	if e := asError(t, err); e.Class != delivery.Retryable || e.Reason != "timeout" || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("deadline: got %v %q (%v), want retryable timeout", e.Class, e.Reason, err)
	}

	ctx, cancel = context.WithCancel(context.Background())
	cancel()
	_, err = s.Send(ctx, room("1"), "x")
	if e := asError(t, err); e.Reason != "canceled" || !errors.Is(err, context.Canceled) {
		t.Errorf("canceled: got %q (%v), want canceled", e.Reason, err)
	}
}

func TestTokenNeverLeaks(t *testing.T) {
	t.Parallel()
	fake := chatworktest.NewServer(t, chatworktest.Options{Tokens: []string{"other"}})
	core, logs := observer.New(zap.DebugLevel)
	s := newSender(t, fake.URL(), zap.New(core))
	userinfo := newSender(t, strings.Replace(fake.URL(), "http://", "http://user:"+token+"@", 1), zap.New(core))

	var outs []string
	_, err := s.Send(context.Background(), room("1"), "x") // 401
	outs = append(outs, err.Error())
	fake.SetDown(true)
	_, err = s.Send(context.Background(), room("1"), "x")
	outs = append(outs, err.Error())
	_, err = userinfo.Send(context.Background(), room("1"), "x")
	outs = append(outs, err.Error())
	_, err = New(Config{APIURL: "ftp://u:" + token + "@host", Token: secret.New(token)}, nil, nil)
	outs = append(outs, err.Error())

	for _, entry := range logs.All() {
		fields, err := json.Marshal(entry.ContextMap())
		if err != nil {
			t.Fatal(err)
		}
		outs = append(outs, entry.Message, string(fields))
	}
	if len(logs.All()) == 0 {
		t.Error("no log lines to check")
	}
	for _, o := range outs {
		if strings.Contains(o, token) {
			t.Errorf("token leaked: %s", o)
		}
	}
}

func TestAddTask(t *testing.T) {
	t.Parallel()
	fake := chatworktest.NewServer(t, chatworktest.Options{Tokens: []string{token}, RoomLimit: 2})
	s := newSender(t, fake.URL(), nil)
	rc, err := s.AddTask(context.Background(), "3", "restart the pod", []string{"11", "12"}, now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if rc.MessageID == "" {
		t.Error("receipt has no task id")
	}
	if _, err := s.Send(context.Background(), room("3"), "a message"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddTask(context.Background(), "3", "third", []string{"11"}, time.Time{}); asError(t, err).Class != delivery.RateLimited {
		t.Errorf("got %v, want the room limit to count tasks and messages together", err)
	}
	if _, err := s.AddTask(context.Background(), "3", "x", []string{"me"}, time.Time{}); asError(t, err).Reason != "bad_account" {
		t.Errorf("got %v, want bad_account", err)
	}
	posts := fake.Posts("3")
	if len(posts) != 2 || posts[0].Kind != "tasks" || posts[1].Kind != "messages" {
		t.Errorf("got %+v, want a task then a message", posts)
	}
}

func TestNewValidates(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"default URL", Config{Token: secret.New("t")}, true},
		{"fake URL", Config{APIURL: "http://127.0.0.1:1/v2", Token: secret.New("t")}, true},
		{"no token", Config{}, false},
		{"token with newline", Config{Token: secret.New("t\r\nX-Evil: 1")}, false},
		{"bad scheme", Config{APIURL: "ftp://example.com", Token: secret.New("t")}, false},
		{"relative URL", Config{APIURL: "/v2", Token: secret.New("t")}, false},
		{"query in URL", Config{APIURL: "https://api.chatwork.com/v2?x=1", Token: secret.New("t")}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			s, err := New(c.cfg, nil, nil)
			if (err == nil) != c.ok {
				t.Fatalf("got error %v, want ok=%v", err, c.ok)
			}
			if c.name == "default URL" && s.base.String() != DefaultAPIURL {
				t.Errorf("got %s, want %s", s.base, DefaultAPIURL)
			}
		})
	}
}
