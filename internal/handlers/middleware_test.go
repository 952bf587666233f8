package handlers

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/relayhq/relay/internal/senders/chatmessenger"
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

func TestNewRequestIDHasChiForm(t *testing.T) {
	t.Parallel()
	form := regexp.MustCompile(`^[^/\s]+/[A-Za-z0-9]{10}-([0-9]{6,})$`)
	a, b := newRequestID(), newRequestID()
	ma, mb := form.FindStringSubmatch(a), form.FindStringSubmatch(b)
	if ma == nil || mb == nil {
		t.Fatalf("got ids %q and %q, want host/random-000042", a, b)
	}
	if a[:len(a)-len(ma[1])] != b[:len(b)-len(mb[1])] {
		t.Errorf("got ids %q and %q, want one prefix", a, b)
	}
	na, _ := strconv.ParseUint(ma[1], 10, 64)
	nb, _ := strconv.ParseUint(mb[1], 10, 64)
	if nb <= na {
		t.Errorf("got ids %q then %q, want a counter that goes up", a, b)
	}
	if !validRequestID(a) {
		t.Errorf("made id %q that a client could not send back", a)
	}
}

// TestRequestIDReachesThePipelineOnlyIfValid: an invalid X-Request-Id is
// dropped from the request, so that the pipeline never sees it.
func TestRequestIDReachesThePipelineOnlyIfValid(t *testing.T) {
	t.Parallel()
	for sent, want := range map[string]string{"am-1": "am-1", "a\tb": ""} {
		env := newEnv(t, &fakePipeline{}, nil)
		w := env.do(t, http.MethodPost, "/v1/alertmanager/ops", jsonType, payload, http.Header{"X-Request-Id": {sent}})
		if w.Code != http.StatusAccepted {
			t.Fatalf("got %d %s, want 202", w.Code, w.Body)
		}
		accepted, _ := env.pipeline.calls()
		if got := accepted[0].Header.Get("X-Request-Id"); got != want {
			t.Errorf("sent %q: pipeline got X-Request-Id %q, want %q", sent, got, want)
		}
	}
}

func TestErrorLogCarriesTheRequestID(t *testing.T) {
	t.Parallel()
	env := newEnv(t, &fakePipeline{storeErr: errStoreDown}, nil)
	w := env.do(t, http.MethodPost, "/v1/alertmanager/ops", jsonType, payload, nil)
	if w.Code != http.StatusServiceUnavailable {
		t.Fatalf("got %d %s, want 503", w.Code, w.Body)
	}
	id := w.Header().Get("X-Request-Id")
	failed := env.logs.FilterMessage("request failed").All()
	if id == "" || len(failed) != 1 || failed[0].ContextMap()["request_id"] != id {
		t.Errorf("got error lines %v, want one with request_id %q", failed, id)
	}
}

// TestPanicAfterAnswerKeepsTheStatus: the first status sent is the one
// logged and counted; the 500 of the recovered panic is not sent again.
func TestPanicAfterAnswerKeepsTheStatus(t *testing.T) {
	t.Parallel()
	core, logs := observer.New(zap.DebugLevel)
	m, err := newMetrics(prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	mux := chi.NewRouter()
	mux.Post("/x", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusEarlyHints)
		w.WriteHeader(http.StatusAccepted)
		panic("after the answer")
	})
	h := observe(zap.New(core), m, mux)
	rec := &headerCounter{ResponseRecorder: httptest.NewRecorder()}
	h.ServeHTTP(rec, newRequest(http.MethodPost, "/x", ""))
	if rec.Code != http.StatusAccepted || rec.calls != 2 {
		t.Errorf("got status %d after %d WriteHeader calls, want 202 after 2 (103, 202)", rec.Code, rec.calls)
	}
	access := logs.FilterMessage("request").All()
	if len(access) != 1 || access[0].ContextMap()["status"] != int64(202) || access[0].ContextMap()["route"] != "/x" {
		t.Errorf("got access log %v, want one line with status 202 and route /x", access)
	}
	panics := logs.FilterMessage("panic while serving a request").All()
	if len(panics) != 1 || panics[0].ContextMap()["route"] != "/x" {
		t.Errorf("got panic lines %v, want one with route /x", panics)
	}
}

type headerCounter struct {
	*httptest.ResponseRecorder
	calls int
}

func (h *headerCounter) WriteHeader(code int) {
	h.calls++
	if code >= 200 {
		h.ResponseRecorder.WriteHeader(code)
	}
}

// TestAbortHandlerIsPassedOn: http.ErrAbortHandler aborts the answer in
// net/http; the middleware neither answers nor logs it.
func TestAbortHandlerIsPassedOn(t *testing.T) {
	t.Parallel()
	core, logs := observer.New(zap.DebugLevel)
	m, err := newMetrics(prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	mux := chi.NewRouter()
	mux.Get("/x", func(http.ResponseWriter, *http.Request) {
		panic(http.ErrAbortHandler)
	})
	h := observe(zap.New(core), m, mux)
	rec := httptest.NewRecorder()
	func() {
		defer func() {
			if v := recover(); v != http.ErrAbortHandler {
				t.Errorf("got panic %v, want http.ErrAbortHandler", v)
			}
		}()
		h.ServeHTTP(rec, newRequest(http.MethodGet, "/x", ""))
	}()
	if rec.Body.Len() != 0 || logs.Len() != 0 {
		t.Errorf("got answer %q and %d log lines, want none", rec.Body, logs.Len())
	}
}

// TestRoutePatternsOfEveryKindOfAnswer holds the route logged and used as
// the metric label, one request after another on one router (so that
// routing state reused from one request never leaks into the next).
func TestRoutePatternsOfEveryKindOfAnswer(t *testing.T) {
	t.Parallel()
	env := newEnv(t, &fakePipeline{}, nil)
	cases := []struct {
		method, target string
		wantStatus     int
		wantRoute      string
	}{
		{http.MethodPost, "/v1/grafana/chatwork/123?template=x", 202, "/v1/{source}/{kind}/{dest}"},
		{http.MethodGet, "/healthz", 200, "/healthz"},
		{http.MethodPost, "/v1/alertmanager/ops", 202, "/v1/{source}/{route}"},
		{http.MethodPost, "/v1/preview/generic/chatmessenger/messenger?users=a@x.com", 200, "/v1/preview/{source}/{kind}/{dest}"},
		{http.MethodGet, "/v1/alertmanager/ops", 405, "/v1/*"},
		{http.MethodPost, "/v1/alertmanager", 404, "/v1/*"},
		{http.MethodPost, "/v1/a/b/c/d/e", 404, "/v1/*"},
		{http.MethodGet, "/no/such/path", 404, "unmatched"},
		{http.MethodPost, "/healthz", 405, "unmatched"},
		{http.MethodGet, "/api/v1/deadletters", 401, "/api/v1/*"},
		{http.MethodPost, "/v1/grafana/chatwork/456", 202, "/v1/{source}/{kind}/{dest}"},
	}
	for i, tc := range cases {
		w := env.do(t, tc.method, tc.target, jsonType, payload, nil)
		if w.Code != tc.wantStatus {
			t.Errorf("%s %s: got %d, want %d", tc.method, tc.target, w.Code, tc.wantStatus)
		}
		lines := env.logs.FilterMessage("request").All()
		if len(lines) != i+1 {
			t.Fatalf("got %d access log lines after %d requests", len(lines), i+1)
		}
		if got := lines[i].ContextMap()["route"]; got != tc.wantRoute {
			t.Errorf("%s %s: got route %q, want %q", tc.method, tc.target, got, tc.wantRoute)
		}
	}
	accepted, previewed := env.pipeline.calls()
	if len(accepted) != 3 || accepted[0].Direct.Dest != "123" || accepted[0].Direct.Template != "x" ||
		accepted[1].Route != "ops" || accepted[2].Direct.Dest != "456" || accepted[2].Direct.Template != "" {
		t.Errorf("got accepted %+v, want rooms 123 (template x), route ops, room 456", accepted)
	}
	if len(previewed) != 1 || previewed[0].Direct.Kind != chatmessenger.Name || previewed[0].Direct.Dest != "messenger" {
		t.Errorf("got previewed %+v, want panel messenger", previewed)
	}
}
