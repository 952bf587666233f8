package handlers

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"go.uber.org/zap/zapcore"
)

func TestRequestIDIsReturned(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		sent     string
		wantSame bool
	}{
		{name: "none sent: a new one", sent: ""},
		{name: "client's id kept", sent: "am-7f3a-0001", wantSame: true},
		{name: "id with a newline replaced", sent: "x\nlevel=error forged"},
		{name: "id with spaces replaced", sent: "a b"},
		{name: "overlong id replaced", sent: strings.Repeat("a", 129)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			env := newEnv(t, &fakePipeline{}, nil)
			req := newRequest(http.MethodGet, "/healthz", "")
			if tc.sent != "" {
				req.Header["X-Request-Id"] = []string{tc.sent}
			}
			w := serve(env.handler, req)
			got := w.Header().Get("X-Request-Id")
			if got == "" {
				t.Fatal("no X-Request-Id in the answer")
			}
			if (got == tc.sent) != tc.wantSame {
				t.Errorf("got id %q for %q; want the client's kept: %v", got, tc.sent, tc.wantSame)
			}
			logged := env.logs.FilterMessage("request").All()
			if len(logged) != 1 || logged[0].ContextMap()["request_id"] != got {
				t.Errorf("access log does not carry request id %q: %v", got, logged)
			}
		})
	}
}

func TestAccessLogLine(t *testing.T) {
	t.Parallel()
	env := newEnv(t, &fakePipeline{}, nil)
	w := env.do(t, http.MethodPost, "/v1/alertmanager/secure", jsonType, payload,
		http.Header{"Authorization": {"Bearer sent-credential"}})
	if w.Code != http.StatusUnauthorized {
		t.Fatalf("got %d, want 401", w.Code)
	}
	lines := env.logs.FilterMessage("request").All()
	if len(lines) != 1 {
		t.Fatalf("got %d access log lines, want 1", len(lines))
	}
	l := lines[0]
	if l.Level != zapcore.InfoLevel {
		t.Errorf("got level %v, want info", l.Level)
	}
	f := l.ContextMap()
	for k, want := range map[string]any{
		"method": "POST",
		"route":  "/v1/{source}/{route}",
		"status": int64(401),
		"bytes":  int64(w.Body.Len()),
		"remote": "192.0.2.1:1234",
	} {
		if f[k] != want {
			t.Errorf("field %s: got %v (%T), want %v", k, f[k], f[k], want)
		}
	}
	if _, ok := f["duration"]; !ok {
		t.Error("no duration field")
	}
	for _, e := range env.logs.All() {
		if s := fmt.Sprint(e.Message, e.ContextMap()); strings.Contains(s, "sent-credential") || strings.Contains(s, "route-token") {
			t.Errorf("log line shows a credential: %s", s)
		}
	}
	if env.logs.FilterLevelExact(zapcore.ErrorLevel).Len() != 0 {
		t.Error("a 4xx was logged at error level")
	}
}

func TestProbesLogAtDebug(t *testing.T) {
	t.Parallel()
	env := newEnv(t, &fakePipeline{}, nil)
	env.do(t, http.MethodGet, "/healthz", "", "", nil)
	lines := env.logs.FilterMessage("request").All()
	if len(lines) != 1 || lines[0].Level != zapcore.DebugLevel {
		t.Errorf("got %v, want one debug line", lines)
	}
}

func TestPanicIs500AndLoggedWithoutSecrets(t *testing.T) {
	t.Parallel()
	env := newEnv(t, &fakePipeline{panicMsg: "nil map"}, nil)
	w := env.do(t, http.MethodPost, "/v1/alertmanager/ops", jsonType, payload,
		http.Header{"Authorization": {"Bearer sent-credential"}})
	if w.Code != http.StatusInternalServerError {
		t.Fatalf("got %d, want 500", w.Code)
	}
	decodeError(t, w)
	panics := env.logs.FilterMessage("panic while serving a request").All()
	if len(panics) != 1 {
		t.Fatalf("got %d panic log lines, want 1", len(panics))
	}
	f := panics[0].ContextMap()
	if f["panic"] != "nil map" || f["route"] != "/v1/{source}/{route}" {
		t.Errorf("got fields %v, want the panic value and route pattern", f)
	}
	for _, e := range env.logs.All() {
		if strings.Contains(fmt.Sprint(e.ContextMap()), "sent-credential") {
			t.Errorf("log line shows a credential: %s", e.Message)
		}
	}
	access := env.logs.FilterMessage("request").All()
	if len(access) != 1 || access[0].ContextMap()["status"] != int64(500) {
		t.Errorf("got access log %v, want one line with status 500", access)
	}
}
