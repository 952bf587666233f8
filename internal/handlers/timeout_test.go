package handlers

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// serveWithin answers req with h, failing the test if no answer comes
// within limit (the handler hangs).
func serveWithin(t *testing.T, h http.Handler, req *http.Request, limit time.Duration) *httptest.ResponseRecorder {
	t.Helper()
	w := httptest.NewRecorder()
	done := make(chan struct{})
	go func() {
		defer close(done)
		h.ServeHTTP(w, req)
	}()
	select {
	case <-done:
		return w
	case <-time.After(limit):
		t.Fatalf("%s %s: no answer within %v", req.Method, req.URL.Path, limit)
		return nil
	}
}

// TestStuckStoreIs503BeforeTheWriteTimeout: a webhook whose store hangs
// is answered 503 with Retry-After once the store timeout is up, and so
// is a readiness check, instead of hanging past the server's write
// timeout (the client would see a dropped connection).
func TestStuckStoreIs503BeforeTheWriteTimeout(t *testing.T) {
	t.Parallel()
	p := &fakePipeline{blockStore: true}
	env := newEnv(t, p, func(d *Deps) {
		d.StoreTimeout = 50 * time.Millisecond
		d.Ready = func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }
	})
	req := httptest.NewRequest(http.MethodPost, "/v1/alertmanager/ops", strings.NewReader(`{}`))
	req.Header.Set("Content-Type", "application/json")
	w := serveWithin(t, env.handler, req, 5*time.Second)
	if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") == "" {
		t.Errorf("webhook on a stuck store: got %d, Retry-After %q; want 503 with Retry-After", w.Code, w.Header().Get("Retry-After"))
	}
	w = serveWithin(t, env.handler, httptest.NewRequest(http.MethodGet, "/readyz", nil), 5*time.Second)
	if w.Code != http.StatusServiceUnavailable {
		t.Errorf("readyz on a stuck store: got %d, want 503", w.Code)
	}
}

// TestDefaultStoreTimeoutIsBelowTheWriteTimeout: by default a webhook's
// store work must end well before the server stops writing answers.
func TestDefaultStoreTimeoutIsBelowTheWriteTimeout(t *testing.T) {
	t.Parallel()
	p := &fakePipeline{}
	env := newEnv(t, p, nil)
	began := time.Now()
	w := env.do(t, http.MethodPost, "/v1/alertmanager/ops", jsonType, `{}`, nil)
	if w.Code != http.StatusAccepted {
		t.Fatalf("got %d %s, want 202", w.Code, w.Body)
	}
	p.mu.Lock()
	deadline := p.deadline
	p.mu.Unlock()
	if deadline.IsZero() {
		t.Fatal("Accept's context has no deadline")
	}
	if left := deadline.Sub(began); left > writeTimeout-2*time.Second {
		t.Errorf("Accept's deadline is %v after the request began, want at least 2s under the write timeout %v", left, writeTimeout)
	}
}
