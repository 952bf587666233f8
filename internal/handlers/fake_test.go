package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/relayhq/relay/internal/alert"
	"github.com/relayhq/relay/internal/auth"
	"github.com/relayhq/relay/internal/config"
	"github.com/relayhq/relay/internal/delivery"
	"github.com/relayhq/relay/internal/intake"
	"github.com/relayhq/relay/internal/outbox"
	"github.com/relayhq/relay/internal/secret"
	"github.com/relayhq/relay/internal/senders"
	"github.com/relayhq/relay/internal/senders/chatmessenger"
	"github.com/relayhq/relay/internal/senders/chatwork"
	"github.com/relayhq/relay/internal/senders/console"
)

// fakePipeline records what it is asked and follows the rules of the real
// one: unknown routes are NotFound, a direct URL's destination is read by
// its kind (testKinds) and a bad one is Invalid, only JSON and text bodies
// are decoded, JSON must be well-formed, and a store error is Unavailable.
type fakePipeline struct {
	// routes are the known routes; a nil *auth.Config means the global auth.
	routes map[string]*auth.Config
	global auth.Config
	// storeErr, if set, is what the outbox answers Enqueue with.
	storeErr error
	// blockStore makes Accept block until its context ends.
	blockStore bool
	deadline   time.Time // of the last Accept's context
	// duplicate makes the outbox recognise every webhook as a duplicate.
	duplicate bool
	// panicMsg, if set, makes Accept panic with it.
	panicMsg string
	// previewing, if set, receives when a Preview starts, which then waits
	// for previewDone to be closed.
	previewing  chan struct{}
	previewDone chan struct{}

	mu        sync.Mutex
	accepted  []intake.Request
	previewed []intake.Request
}

func (f *fakePipeline) Auth(route string) (auth.Config, error) {
	if route == "" {
		return f.global, nil
	}
	cfg, ok := f.routes[route]
	if !ok {
		return auth.Config{}, intake.Errorf(intake.NotFound, "unknown route %q", route)
	}
	if cfg == nil {
		return f.global, nil
	}
	return *cfg, nil
}

func (f *fakePipeline) render(req intake.Request) ([]intake.Rendered, error) {
	if req.Direct == nil {
		if _, ok := f.routes[req.Route]; !ok {
			return nil, intake.Errorf(intake.NotFound, "unknown route %q", req.Route)
		}
	}
	mt, _, err := mime.ParseMediaType(req.ContentType)
	switch {
	case err == nil && mt == "application/json":
		var v map[string]any
		if err := json.Unmarshal(req.Body, &v); err != nil {
			return nil, &intake.Error{Code: intake.Invalid, Msg: "decode JSON payload", Err: err}
		}
	case err == nil && mt == "text/plain":
	default:
		return nil, intake.Errorf(intake.Unsupported, "unsupported content type %q", req.ContentType)
	}
	dest := delivery.Destination{Sender: chatwork.Name, Address: chatwork.Address("42")}
	if req.Direct != nil {
		var err error
		if dest, err = directDestination(req.Direct); err != nil {
			return nil, err
		}
	}
	return []intake.Rendered{{Destination: dest, Template: "default", Body: "[FIRING] " + req.Source}}, nil
}

// testKinds are relay's sender kinds.
var testKinds = config.NewKinds(chatwork.Kind{}, chatmessenger.Kind{}, console.NewKind(io.Discard))

// directDestination is where a direct URL delivers, read by its kind as
// the pipeline reads it: an unknown kind or one without direct URLs is
// NotFound, a bad destination Invalid.
func directDestination(d *intake.Direct) (delivery.Destination, error) {
	k, ok := testKinds[d.Kind]
	if !ok {
		return delivery.Destination{}, intake.Errorf(intake.NotFound, "unknown sender kind %q", d.Kind)
	}
	target, err := k.Direct(d.Dest, d.Query)
	var de *senders.DestinationError
	switch {
	case errors.As(err, &de):
		return delivery.Destination{}, &intake.Error{Code: intake.Invalid, Msg: err.Error()}
	case err != nil:
		return delivery.Destination{}, &intake.Error{Code: intake.NotFound, Msg: err.Error()}
	}
	address, _ := target.Resolve(&alert.Data{})
	return delivery.Destination{Sender: d.Kind, Address: address}, nil
}

func (f *fakePipeline) Accept(ctx context.Context, req intake.Request) (intake.Result, error) {
	if f.panicMsg != "" {
		panic(f.panicMsg)
	}
	if d, ok := ctx.Deadline(); ok {
		f.mu.Lock()
		f.deadline = d
		f.mu.Unlock()
	}
	if f.blockStore {
		// A store that hangs until its caller gives up, answered as
		// intake.Pipeline answers a store error.
		<-ctx.Done()
		return intake.Result{}, &intake.Error{Code: intake.Unavailable, Msg: "the outbox cannot store the messages; retry later", Err: ctx.Err()}
	}
	msgs, err := f.render(req)
	if err != nil {
		return intake.Result{}, err
	}
	if f.storeErr != nil {
		return intake.Result{}, &intake.Error{Code: intake.Unavailable, Msg: "the outbox cannot store the messages; retry later", Err: f.storeErr}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.accepted = append(f.accepted, req)
	if f.duplicate {
		return intake.Result{ID: "first", Duplicate: true}, nil
	}
	return intake.Result{ID: "n1", Messages: len(msgs)}, nil
}

func (f *fakePipeline) Preview(_ context.Context, req intake.Request) ([]intake.Rendered, error) {
	if f.previewing != nil {
		f.previewing <- struct{}{}
		<-f.previewDone
	}
	msgs, err := f.render(req)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.previewed = append(f.previewed, req)
	return msgs, nil
}

func (f *fakePipeline) calls() (accepted, previewed []intake.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]intake.Request(nil), f.accepted...), append([]intake.Request(nil), f.previewed...)
}

// fakeDeadLetters is a dead-letter list; Requeue with no ids takes all.
type fakeDeadLetters struct {
	mu   sync.Mutex
	dead []outbox.DeadLetter
	err  error
}

func (f *fakeDeadLetters) DeadLetters(_ context.Context, limit int) ([]outbox.DeadLetter, error) {
	if f.err != nil {
		return nil, f.err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]outbox.DeadLetter(nil), f.dead[:min(limit, len(f.dead))]...), nil
}

func (f *fakeDeadLetters) Requeue(_ context.Context, ids []int64) (outbox.RequeueResult, error) {
	if f.err != nil {
		return outbox.RequeueResult{}, f.err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var keep []outbox.DeadLetter
	var res outbox.RequeueResult
	found := map[int64]bool{}
	for _, d := range f.dead {
		if len(ids) == 0 || containsID(ids, d.ID) {
			res.Requeued++
			found[d.ID] = true
			continue
		}
		keep = append(keep, d)
	}
	f.dead = keep
	res.Skipped = outbox.WithMissing(nil, ids, found)
	return res, nil
}

func containsID(ids []int64, id int64) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}

// testEnv is a router over fakes, with its registry and logs.
type testEnv struct {
	handler  http.Handler
	pipeline *fakePipeline
	dead     *fakeDeadLetters
	reg      *prometheus.Registry
	logs     *observer.ObservedLogs
}

var testNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

const adminToken = "admin-t0ken"

// newEnv builds a router with the route "ops" (global auth), "secure" (its
// own bearer token), a 64-byte body limit and the admin token; edit
// modifies the deps first.
func newEnv(t *testing.T, p *fakePipeline, edit func(*Deps)) *testEnv {
	t.Helper()
	if p.routes == nil {
		p.routes = map[string]*auth.Config{
			"ops":    nil,
			"secure": {Bearer: secret.New("route-token")},
		}
	}
	core, logs := observer.New(zap.DebugLevel)
	reg := prometheus.NewRegistry()
	dead := &fakeDeadLetters{}
	d := Deps{
		Pipeline:     p,
		DeadLetters:  dead,
		AdminToken:   secret.New(adminToken),
		MaxBodyBytes: 64,
		Logger:       zap.New(core),
		Registerer:   reg,
		Gatherer:     reg,
		Now:          func() time.Time { return testNow },
		DirectKinds:  []string{chatwork.Name, chatmessenger.Name},
	}
	if edit != nil {
		edit(&d)
	}
	h, err := NewRouter(d)
	if err != nil {
		t.Fatalf("NewRouter: %v", err)
	}
	return &testEnv{handler: h, pipeline: p, dead: dead, reg: reg, logs: logs}
}

// do serves one request and returns the recorded response.
func (e *testEnv) do(t *testing.T, method, target, contentType, body string, header http.Header) *httptest.ResponseRecorder {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, target, r)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	w := httptest.NewRecorder()
	e.handler.ServeHTTP(w, req)
	return w
}

// decodeError reads a JSON error answer and checks that it repeats the
// status.
func decodeError(t *testing.T, w *httptest.ResponseRecorder) errorBody {
	t.Helper()
	var b errorBody
	if err := json.Unmarshal(w.Body.Bytes(), &b); err != nil {
		t.Fatalf("decode error answer %q: %v", w.Body.String(), err)
	}
	if b.Status != w.Code {
		t.Errorf("got status %d in the body, want %d", b.Status, w.Code)
	}
	if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("got Content-Type %q, want application/json", ct)
	}
	return b
}

var errStoreDown = errors.New("database is locked")

func newRequest(method, target, body string) *http.Request {
	return httptest.NewRequest(method, target, strings.NewReader(body))
}

func serve(h http.Handler, r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}
