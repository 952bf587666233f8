package upstream

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/relayhq/relay/internal/delivery"
)

func TestRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_700_000_000, 0)
	date := now.Add(time.Minute).UTC()
	cases := []struct {
		name, value string
		want        time.Time
	}{
		{"absent", "", time.Time{}},
		{"seconds", "12", now.Add(12 * time.Second)},
		{"zero", "0", now},
		{"negative", "-3", time.Time{}},
		{"http date", date.Format(http.TimeFormat), date},
		{"garbage", "soon", time.Time{}},
	}
	for _, c := range cases {
		h := http.Header{}
		if c.value != "" {
			h.Set("Retry-After", c.value)
		}
		if got := RetryAfter(h, now); !got.Equal(c.want) {
			t.Errorf("%s: got %v, want %v", c.name, got, c.want)
		}
	}
}

func TestStatusError(t *testing.T) {
	t.Parallel()
	cases := []struct {
		status int
		class  delivery.Class
		reason string
	}{
		{400, delivery.Permanent, "http_400"},
		{401, delivery.Permanent, "http_401"},
		{404, delivery.Permanent, "http_404"},
		{408, delivery.Retryable, "http_408"},
		{429, delivery.RateLimited, "http_429"},
		{500, delivery.Retryable, "http_500"},
		{503, delivery.Retryable, "http_503"},
	}
	for _, c := range cases {
		e := StatusError(&http.Response{StatusCode: c.status, Header: http.Header{}}, "why", time.Now())
		if e.Class != c.class || e.Reason != c.reason || e.Status != c.status || e.Answer != "why" {
			t.Errorf("%d: got %v %q %d %q, want %v %q", c.status, e.Class, e.Reason, e.Status, e.Answer, c.class, c.reason)
		}
	}
}

func TestParseBaseURL(t *testing.T) {
	t.Parallel()
	cases := []struct {
		raw, want string
		ok        bool
	}{
		{"https://api.chatwork.com/v2/", "https://api.chatwork.com/v2", true},
		{"http://127.0.0.1:8080", "http://127.0.0.1:8080", true},
		{"ftp://x", "", false},
		{"https://", "", false},
		{"https://x/v2?token=abc", "", false},
		{"::not a url", "", false},
	}
	for _, c := range cases {
		u, err := ParseBaseURL(c.raw)
		if (err == nil) != c.ok {
			t.Errorf("%q: got error %v, want ok=%v", c.raw, err, c.ok)
			continue
		}
		if c.ok && u.String() != c.want {
			t.Errorf("%q: got %q, want %q", c.raw, u, c.want)
		}
		if err != nil && strings.Contains(err.Error(), "abc") {
			t.Errorf("%q: error shows the query: %v", c.raw, err)
		}
	}
}

func TestTransportErrorRedactsAndClassifies(t *testing.T) {
	t.Parallel()
	uerr := &url.Error{Op: "Post", URL: "https://user:pw@example.com/v2/rooms/1/messages?token=t0k", Err: errors.New("connection refused")}
	e := TransportError(context.Background(), uerr)
	if e.Class != delivery.Retryable || e.Reason != "transport" {
		t.Errorf("got %v %q, want retryable transport", e.Class, e.Reason)
	}
	if msg := e.Error(); strings.Contains(msg, "pw") || strings.Contains(msg, "t0k") || strings.Contains(msg, "user") {
		t.Errorf("credential in %q", msg)
	}
	timeout := &url.Error{Op: "Post", URL: "https://example.com", Err: context.DeadlineExceeded}
	if e := TransportError(context.Background(), timeout); e.Reason != "timeout" || !errors.Is(e, context.DeadlineExceeded) {
		t.Errorf("got %q, want timeout wrapping the deadline", e.Reason)
	}
}

func TestTruncateAndValidToken(t *testing.T) {
	t.Parallel()
	if got := Truncate(strings.Repeat("あ", 1000)); delivery.Len(got) != AnswerLen || !strings.HasSuffix(got, "...") {
		t.Errorf("got %d units, want %d ending in ...", delivery.Len(got), AnswerLen)
	}
	if got := Truncate("  short\n"); got != "short" {
		t.Errorf("got %q, want %q", got, "short")
	}
	for tok, want := range map[string]bool{"abc123": true, "": false, "a b": false, "a\r\nb": false, "a\x7f": false} {
		if ValidToken(tok) != want {
			t.Errorf("ValidToken(%q) = %v, want %v", tok, !want, want)
		}
	}
}
