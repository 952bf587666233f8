// Package upstream holds the HTTP plumbing the chat senders share: base URL
// validation, reading a bounded answer, Retry-After, and turning transport
// failures and HTTP statuses into classified *delivery.Error values. It never
// retries or sleeps; the dispatcher owns that.
package upstream

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/relayhq/relay/internal/delivery"
)

// MaxAnswer bounds how much of an upstream answer is read into memory.
const MaxAnswer = 64 << 10

// maxDrain bounds how much of the rest of an answer is discarded so that the
// connection can be reused.
const maxDrain = 1 << 20

// AnswerLen bounds the Answer kept in a *delivery.Error.
const AnswerLen = 512

// ParseBaseURL checks that raw is an absolute http(s) URL without a query or
// fragment and returns it without a trailing slash.
func ParseBaseURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("parse base URL: %w", redactURLError(err))
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("base URL %q: scheme must be http or https", SafeURL(u))
	}
	if u.Host == "" {
		return nil, fmt.Errorf("base URL %q: no host", SafeURL(u))
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("base URL %q: must not have a query or fragment", SafeURL(u))
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	return u, nil
}

// ValidToken reports whether tok can be sent as a header value: non-empty,
// without spaces or control characters.
func ValidToken(tok string) bool {
	if tok == "" {
		return false
	}
	for i := 0; i < len(tok); i++ {
		if c := tok[i]; c <= ' ' || c == 0x7f {
			return false
		}
	}
	return true
}

// ReadAnswer reads at most MaxAnswer bytes of the response body, drains a
// bounded rest so that the connection can be reused, and closes it.
func ReadAnswer(resp *http.Response) ([]byte, error) {
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, MaxAnswer))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxDrain))
	if err != nil {
		return b, fmt.Errorf("read answer: %w", err)
	}
	return b, nil
}

// TransportError classifies a failed round trip as Retryable: "timeout" when
// a deadline passed, "canceled" when ctx was canceled, else "transport". URL
// userinfo is redacted from any *url.Error it wraps.
func TransportError(ctx context.Context, err error) *delivery.Error {
	err = redactURLError(err)
	reason := "transport"
	var ne net.Error
	switch {
	case errors.Is(ctx.Err(), context.Canceled):
		reason = "canceled"
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		reason = "timeout"
	}
	return &delivery.Error{Class: delivery.Retryable, Reason: reason, Err: err}
}

// StatusError classifies a non-success HTTP status: 429 is RateLimited with
// Until from Retry-After (zero if absent), 408 and 5xx are Retryable, every
// other status is Permanent. Reason is "http_<status>".
func StatusError(resp *http.Response, answer string, now time.Time) *delivery.Error {
	e := &delivery.Error{
		Class:  delivery.Permanent,
		Reason: "http_" + strconv.Itoa(resp.StatusCode),
		Status: resp.StatusCode,
		Answer: Truncate(answer),
	}
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		e.Class = delivery.RateLimited
		e.Until = RetryAfter(resp.Header, now)
	case resp.StatusCode == http.StatusRequestTimeout, resp.StatusCode >= 500:
		e.Class = delivery.Retryable
		e.Until = RetryAfter(resp.Header, now) // a 503's Retry-After, say
	}
	return e
}

// RetryAfter returns when the Retry-After header (seconds or an HTTP date)
// allows the next request, or the zero time when it is absent or invalid.
func RetryAfter(h http.Header, now time.Time) time.Time {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return time.Time{}
	}
	if n, err := strconv.Atoi(v); err == nil {
		if n < 0 {
			return time.Time{}
		}
		return now.Add(time.Duration(n) * time.Second)
	}
	if t, err := http.ParseTime(v); err == nil {
		return t
	}
	return time.Time{}
}

// Truncate shortens an upstream answer to AnswerLen for error messages and
// the dead-letter list, collapsing surrounding white space.
func Truncate(s string) string {
	s = strings.TrimSpace(s)
	if delivery.Len(s) <= AnswerLen {
		return s
	}
	return delivery.Truncate(s, AnswerLen-3) + "..."
}

// redactURLError replaces the URL in a *url.Error by its redacted form, so
// userinfo never reaches a log line.
func redactURLError(err error) error {
	var ue *url.Error
	if !errors.As(err, &ue) {
		return err
	}
	redacted := "<unparsable URL>"
	if u, perr := url.Parse(ue.URL); perr == nil {
		redacted = SafeURL(u)
	}
	return &url.Error{Op: ue.Op, URL: redacted, Err: ue.Err}
}

// SafeURL prints u without userinfo and query, the places a credential could
// hide.
func SafeURL(u *url.URL) string {
	c := *u
	c.User = nil
	c.RawQuery = ""
	c.ForceQuery = false
	return c.String()
}
