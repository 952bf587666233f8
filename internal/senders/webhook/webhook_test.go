package webhook

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/relayhq/relay/internal/delivery"
	"github.com/relayhq/relay/internal/secret"
)

const (
	hookPath   = "/services/T000/B000/hook-token-9f8e7d"
	hookKey    = "hmac-key-0a1b2c3d"
	hookAuth   = "Bearer auth-token-5e6f7a"
	testBody   = `{"text":"[FIRING:1] HighLatency <api> & co"}`
	answerEcho = "POST " + hookPath + " refused; Authorization: " + hookAuth
)

var now = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

// newTestSender returns a fake that wants the X-Team and Authorization
// headers and a signature under hookKey, and a Sender for it with key.
func newTestSender(t *testing.T, key string, logger *zap.Logger) (*fake, *Sender) {
	t.Helper()
	f := newFake(t, hookPath, hookKey, map[string]string{"X-Team": "ops", "Authorization": hookAuth})
	cfg := Config{
		Name:          "hooks",
		URL:           secret.New(f.url()),
		Headers:       http.Header{"X-Team": {"ops"}},
		SecretHeaders: map[string]secret.Secret{"Authorization": secret.New(hookAuth)},
		HMACSecret:    secret.New(key),
	}
	s, err := New(cfg, f.srv.Client(), logger)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	s.now = func() time.Time { return now }
	return f, s
}

func TestSendDeliversSignedBody(t *testing.T) {
	t.Parallel()
	f, s := newTestSender(t, hookKey, nil)
	if _, err := s.Send(context.Background(), delivery.Destination{Sender: "hooks"}, testBody); err != nil {
		t.Fatalf("Send: %v (fake refused %v)", err, f.refusals())
	}
	if got := f.bodies(); len(got) != 1 || got[0] != testBody {
		t.Errorf("fake got %q, want [%q]", got, testBody)
	}
}

func TestSendClassifiesAnswers(t *testing.T) {
	t.Parallel()
	date := now.Add(90 * time.Second)
	cases := []struct {
		name   string
		answer answer
		ok     bool
		class  delivery.Class
		reason string
		until  time.Time
	}{
		{name: "200", answer: answer{status: 200, body: "ok"}, ok: true},
		{name: "204", answer: answer{status: 204}, ok: true},
		{name: "202", answer: answer{status: 202}, ok: true},
		{name: "429 seconds", answer: answer{status: 429, header: map[string]string{"Retry-After": "7"}, body: "rate_limited"},
			class: delivery.RateLimited, reason: "http_429", until: now.Add(7 * time.Second)},
		{name: "429 date", answer: answer{status: 429, header: map[string]string{"Retry-After": date.Format(http.TimeFormat)}},
			class: delivery.RateLimited, reason: "http_429", until: date},
		{name: "429 without Retry-After", answer: answer{status: 429}, class: delivery.RateLimited, reason: "http_429"},
		{name: "500", answer: answer{status: 500, body: "boom"}, class: delivery.Retryable, reason: "http_500"},
		{name: "503", answer: answer{status: 503, header: map[string]string{"Retry-After": "30"}}, class: delivery.Retryable, reason: "http_503", until: now.Add(30 * time.Second)},
		{name: "408", answer: answer{status: 408}, class: delivery.Retryable, reason: "http_408"},
		{name: "400", answer: answer{status: 400, body: "invalid_payload"}, class: delivery.Permanent, reason: "http_400"},
		{name: "404", answer: answer{status: 404, body: "no_team"}, class: delivery.Permanent, reason: "http_404"},
		{name: "410", answer: answer{status: 410, body: "channel_is_archived"}, class: delivery.Permanent, reason: "http_410"},
		{name: "redirect not followed", answer: answer{status: 302, header: map[string]string{"Location": "/elsewhere"}},
			class: delivery.Permanent, reason: "http_302"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			f, s := newTestSender(t, hookKey, nil)
			f.queue(c.answer)
			_, err := s.Send(context.Background(), delivery.Destination{Sender: "hooks"}, testBody)
			if c.ok {
				if err != nil {
					t.Fatalf("got %v, want success", err)
				}
				return
			}
			var e *delivery.Error
			if !errors.As(err, &e) {
				t.Fatalf("got %v, want a *delivery.Error", err)
			}
			if e.Class != c.class || e.Reason != c.reason || e.Status != c.answer.status || !e.Until.Equal(c.until) {
				t.Errorf("got %v %q %d until %v, want %v %q %d until %v",
					e.Class, e.Reason, e.Status, e.Until, c.class, c.reason, c.answer.status, c.until)
			}
			if c.answer.body != "" && e.Answer != c.answer.body {
				t.Errorf("answer %q, want %q", e.Answer, c.answer.body)
			}
			if n := len(f.bodies()); n != 1 {
				t.Errorf("fake got %d requests, want 1 (no redirect followed, no retry)", n)
			}
		})
	}
}

func TestSendRefusedWithoutValidSignature(t *testing.T) {
	t.Parallel()
	for name, key := range map[string]string{"wrong key": "another-key-123", "no key": ""} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f, s := newTestSender(t, key, nil)
			_, err := s.Send(context.Background(), delivery.Destination{Sender: "hooks"}, testBody)
			e := delivery.Classify(err)
			if err == nil || e.Class != delivery.Permanent || e.Status != http.StatusUnauthorized {
				t.Errorf("got %v, want a permanent 401", err)
			}
			if got := f.refusals(); len(got) != 1 || got[0] != http.StatusUnauthorized {
				t.Errorf("fake refused %v, want [401]", got)
			}
		})
	}
}

func TestSendContentType(t *testing.T) {
	t.Parallel()
	f := newFake(t, hookPath, "", nil)
	f.contentType = "text/plain; charset=utf-8"
	s, err := New(Config{URL: secret.New(f.url()), ContentType: f.contentType}, f.srv.Client(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Send(context.Background(), delivery.Destination{}, "plain text"); err != nil {
		t.Fatalf("Send: %v", err)
	}
	def, err := New(Config{URL: secret.New(f.url())}, f.srv.Client(), nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = def.Send(context.Background(), delivery.Destination{}, "{}")
	if e := delivery.Classify(err); e.Status != http.StatusUnsupportedMediaType {
		t.Errorf("default content type: got %v, want the fake's 415 (it wants text/plain)", err)
	}
}

func TestSendEmptyBodyMakesNoRequest(t *testing.T) {
	t.Parallel()
	f, s := newTestSender(t, hookKey, nil)
	_, err := s.Send(context.Background(), delivery.Destination{}, "")
	if e := delivery.Classify(err); e.Class != delivery.Permanent || e.Reason != "empty_body" {
		t.Errorf("got %v, want permanent empty_body", err)
	}
	if n := len(f.bodies()) + len(f.refusals()); n != 0 {
		t.Errorf("fake saw %d requests, want 0", n)
	}
}

// secretsOf are the strings no error, answer or log line may hold.
var secretsOf = []string{hookPath, "hook-token-9f8e7d", hookKey, "auth-token-5e6f7a"}

func assertNoSecret(t *testing.T, what, s string) {
	t.Helper()
	for _, sec := range secretsOf {
		if strings.Contains(s, sec) {
			t.Errorf("%s holds the secret %q: %s", what, sec, s)
		}
	}
}

func TestSendScrubsTheAnswer(t *testing.T) {
	t.Parallel()
	f, s := newTestSender(t, hookKey, nil)
	f.queue(answer{status: 400, body: answerEcho + " " + f.url()})
	_, err := s.Send(context.Background(), delivery.Destination{}, testBody)
	e := delivery.Classify(err)
	if e.Class != delivery.Permanent || !strings.Contains(e.Answer, "refused") {
		t.Fatalf("got %v, want a permanent 400 with the answer", err)
	}
	assertNoSecret(t, "answer", e.Answer)
	assertNoSecret(t, "error", err.Error())
}

func TestSendTransportErrorsHideTheURL(t *testing.T) {
	t.Parallel()
	t.Run("connection refused", func(t *testing.T) {
		t.Parallel()
		f, s := newTestSender(t, hookKey, nil)
		f.srv.Close()
		_, err := s.Send(context.Background(), delivery.Destination{}, testBody)
		e := delivery.Classify(err)
		if e.Class != delivery.Retryable || e.Reason != "transport" {
			t.Errorf("got %v, want retryable transport", err)
		}
		assertNoSecret(t, "error", err.Error())
		if !strings.Contains(err.Error(), "127.0.0.1") {
			t.Errorf("error %q does not say which host failed", err)
		}
	})
	t.Run("deadline", func(t *testing.T) {
		t.Parallel()
		_, s := newTestSender(t, hookKey, nil)
		ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
		defer cancel()
		_, err := s.Send(ctx, delivery.Destination{}, testBody)
		e := delivery.Classify(err)
		if e.Class != delivery.Retryable || e.Reason != "timeout" || !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("got %v, want retryable timeout wrapping the deadline", err)
		}
		assertNoSecret(t, "error", err.Error())
	})
}

func TestSendLogsNoSecret(t *testing.T) {
	t.Parallel()
	core, logs := observer.New(zapcore.DebugLevel)
	f, s := newTestSender(t, hookKey, zap.New(core))
	f.queue(answer{status: 200, body: answerEcho}, answer{status: 500, body: answerEcho})
	for range 2 {
		_, _ = s.Send(context.Background(), delivery.Destination{}, testBody)
	}
	if logs.Len() == 0 {
		t.Fatal("no log entries: the test proves nothing")
	}
	for _, e := range logs.All() {
		line := e.Message
		for k, v := range e.ContextMap() {
			line += " " + k + "=" + strings.TrimSpace(strings.ReplaceAll(toString(v), "\n", " "))
		}
		assertNoSecret(t, "log entry", line)
	}
}

func toString(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	if e, ok := v.(error); ok {
		return e.Error()
	}
	return ""
}

func TestNewRefusesBadConfig(t *testing.T) {
	t.Parallel()
	cases := map[string]Config{
		"no URL":           {},
		"not http":         {URL: secret.New("ftp://hooks.example.com" + hookPath)},
		"relative":         {URL: secret.New(hookPath)},
		"userinfo":         {URL: secret.New("https://user:hook-token-9f8e7d@hooks.example.com/x")},
		"header value":     {URL: secret.New("https://hooks.example.com" + hookPath), Headers: http.Header{"X-Team": {"a\r\nb"}}},
		"secret header":    {URL: secret.New("https://hooks.example.com" + hookPath), SecretHeaders: map[string]secret.Secret{"Authorization": secret.New(hookAuth + "\n")}},
		"bad header name":  {URL: secret.New("https://hooks.example.com" + hookPath), Headers: http.Header{"X Team": {"ops"}}},
		"control char URL": {URL: secret.New("https://hooks.example.com" + hookPath + "\x7f")},
	}
	for name, cfg := range cases {
		if _, err := New(cfg, nil, nil); err == nil {
			t.Errorf("%s: got no error", name)
		} else {
			assertNoSecret(t, name, err.Error())
		}
	}
}

func TestSign(t *testing.T) {
	t.Parallel()
	// The well-known example: HMAC-SHA256 of "The quick brown fox jumps over
	// the lazy dog" under "key".
	got := Sign(secret.New("key"), []byte("The quick brown fox jumps over the lazy dog"))
	want := "sha256=f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"
	if got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}
