package handlers

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/relayhq/relay/internal/secret"
)

func TestHealthz(t *testing.T) {
	t.Parallel()
	env := newEnv(t, &fakePipeline{}, func(d *Deps) {
		d.Ready = func(context.Context) error { return errors.New("store down") }
	})
	w := env.do(t, http.MethodGet, "/healthz", "", "", nil)
	if w.Code != http.StatusOK || strings.TrimSpace(w.Body.String()) != "ok" {
		t.Errorf("got %d %q, want 200 ok even when not ready", w.Code, w.Body)
	}
}

func TestReadyz(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name       string
		ready      func(context.Context) error
		wantStatus int
		wantBody   string
	}{
		{name: "ready", ready: func(context.Context) error { return nil }, wantStatus: 200, wantBody: "ready"},
		{name: "no readiness check", wantStatus: 200, wantBody: "ready"},
		{name: "store not writable", ready: func(context.Context) error { return errors.New("outbox: disk I/O error") },
			wantStatus: 503, wantBody: "not ready: outbox: disk I/O error"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			env := newEnv(t, &fakePipeline{}, func(d *Deps) { d.Ready = tc.ready })
			w := env.do(t, http.MethodGet, "/readyz", "", "", nil)
			if w.Code != tc.wantStatus {
				t.Fatalf("got %d, want %d", w.Code, tc.wantStatus)
			}
			if !strings.Contains(w.Body.String(), tc.wantBody) {
				t.Errorf("got %s, want it to say %q", w.Body, tc.wantBody)
			}
			if w.Code == http.StatusServiceUnavailable && w.Header().Get("Retry-After") == "" {
				t.Error("503 without Retry-After")
			}
		})
	}
}

func TestReload(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name       string
		method     string
		token      string // the relay's admin token; empty = not set
		header     http.Header
		err        error
		wantStatus int
		wantCalls  int
		wantBody   string
	}{
		{name: "no admin token: refused", method: http.MethodPost, wantStatus: 403, wantCalls: 0,
			wantBody: "set RELAY_ADMIN_TOKEN to enable it, or send relay SIGHUP"},
		{name: "bad routes file", method: http.MethodPost, token: adminToken, header: adminHeader,
			err:        errors.New("routes.yaml:12: unknown sender \"cw\""),
			wantStatus: 500, wantCalls: 1, wantBody: `reload failed: routes.yaml:12: unknown sender \"cw\"`},
		{name: "GET is not allowed", method: http.MethodGet, token: adminToken, header: adminHeader, wantStatus: 405, wantCalls: 0},
		{name: "admin token set and sent", method: http.MethodPost, token: adminToken, header: adminHeader,
			wantStatus: 200, wantCalls: 1, wantBody: "reloaded"},
		{name: "admin token set, not sent", method: http.MethodPost, token: adminToken, wantStatus: 401, wantCalls: 0},
		{name: "admin token set, wrong one sent", method: http.MethodPost, token: adminToken,
			header: http.Header{"Authorization": {"Bearer guess"}}, wantStatus: 401, wantCalls: 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			calls := 0
			env := newEnv(t, &fakePipeline{}, func(d *Deps) {
				d.AdminToken = secret.New(tc.token)
				d.Reload = func(context.Context) error { calls++; return tc.err }
			})
			w := env.do(t, tc.method, "/-/reload", "", "", tc.header)
			if w.Code != tc.wantStatus {
				t.Fatalf("got %d %s, want %d", w.Code, w.Body, tc.wantStatus)
			}
			if calls != tc.wantCalls {
				t.Errorf("got %d reloads, want %d", calls, tc.wantCalls)
			}
			if !strings.Contains(w.Body.String(), tc.wantBody) {
				t.Errorf("got %s, want it to say %s", w.Body, tc.wantBody)
			}
		})
	}
}

func TestMetricsEndpointServesTheGatherer(t *testing.T) {
	t.Parallel()
	env := newEnv(t, &fakePipeline{}, nil)
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "relay_test_marker_total", Help: "A marker."})
	env.reg.MustRegister(c)
	c.Add(3)
	w := env.do(t, http.MethodGet, "/metrics", "", "", nil)
	if w.Code != http.StatusOK {
		t.Fatalf("got %d, want 200", w.Code)
	}
	if !strings.Contains(w.Body.String(), "relay_test_marker_total 3") {
		t.Errorf("metrics do not show the registry's counter:\n%s", w.Body)
	}
}

func TestNewRouterNeedsItsDependencies(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		edit func(*Deps)
	}{
		{name: "no pipeline", edit: func(d *Deps) { d.Pipeline = nil }},
		{name: "no logger", edit: func(d *Deps) { d.Logger = nil }},
		{name: "no registerer", edit: func(d *Deps) { d.Registerer = nil }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			d := Deps{Pipeline: &fakePipeline{}, Logger: zap.NewNop(), Registerer: prometheus.NewRegistry()}
			tc.edit(&d)
			if _, err := NewRouter(d); err == nil {
				t.Error("got nil error, want one")
			}
		})
	}
}
