package intake_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/relayhq/relay/internal/config"
	"github.com/relayhq/relay/internal/intake"
	"github.com/relayhq/relay/internal/outbox"
	"github.com/relayhq/relay/internal/secret"
	"github.com/relayhq/relay/internal/senders"
	"github.com/relayhq/relay/internal/senders/chatmessenger"
	"github.com/relayhq/relay/internal/senders/chatwork"
	"github.com/relayhq/relay/internal/senders/console"
	"github.com/relayhq/relay/internal/templates"
)

// fakeStore is an outbox that keeps batches in memory with the rules of a
// real store: a batch is stored whole or not at all, it must carry an id
// that its messages repeat, and a batch whose dedup key was seen before is
// a duplicate answered with the first batch's id and stores nothing.
type fakeStore struct {
	mu      sync.Mutex
	err     error // returned by every Enqueue when set
	batches []outbox.Batch
	firstID map[string]string // dedup key -> first notification id
	nextID  int64
}

func (s *fakeStore) Enqueue(_ context.Context, b outbox.Batch) (outbox.EnqueueResult, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return outbox.EnqueueResult{}, s.err
	}
	if b.NotificationID == "" || len(b.Messages) == 0 {
		return outbox.EnqueueResult{}, errors.New("fake store: a batch needs an id and messages")
	}
	for i, m := range b.Messages {
		if m.NotificationID != b.NotificationID || m.Body == "" || m.Dest.Sender == "" {
			return outbox.EnqueueResult{}, fmt.Errorf("fake store: message %d is incomplete: %+v", i, m)
		}
	}
	if b.DedupKey != "" {
		if first, ok := s.firstID[b.DedupKey]; ok {
			return outbox.EnqueueResult{NotificationID: first, Duplicate: true}, nil
		}
		if s.firstID == nil {
			s.firstID = map[string]string{}
		}
		s.firstID[b.DedupKey] = b.NotificationID
	}
	res := outbox.EnqueueResult{NotificationID: b.NotificationID}
	for range b.Messages {
		s.nextID++
		res.IDs = append(res.IDs, s.nextID)
	}
	s.batches = append(s.batches, b)
	return res, nil
}

// stored returns the batches stored so far.
func (s *fakeStore) stored() []outbox.Batch {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]outbox.Batch(nil), s.batches...)
}

// fixture is a pipeline over a real configuration and real templates.
type fixture struct {
	p     *intake.Pipeline
	store *fakeStore
	reg   *prometheus.Registry
}

// testEnv has a global token.
func testEnv() config.Env {
	return config.Env{AuthToken: secret.New("global-token")}
}

// testKinds are relay's sender kinds.
func testKinds() config.Kinds {
	return config.NewKinds(chatwork.Kind{}, chatmessenger.Kind{}, console.NewKind(io.Discard))
}

// testVars is the environment: credentials for the chatwork and
// chatmessenger built-in senders, and the routes file's *_env keys.
var testVars = map[string]string{
	chatwork.EnvToken:      "cw-token",
	chatwork.EnvAPIURL:     "https://chatwork.invalid/v2",
	chatmessenger.EnvURL:   "https://cam.invalid",
	chatmessenger.EnvToken: "cam-token",
	"OPS_TOKEN":            "ops-token",
	"AM_PASS":              "am-pass",
}

// newFixture builds a pipeline from a routes file and custom templates
// (file name -> text) written to a temporary directory.
func newFixture(t *testing.T, routes string, tmpls map[string]string) *fixture {
	t.Helper()
	store := &fakeStore{}
	reg := prometheus.NewRegistry()
	p, err := intake.New(store, newSnapshot(t, routes, tmpls), zap.NewNop(), reg)
	if err != nil {
		t.Fatalf("new pipeline: %v", err)
	}
	return &fixture{p: p, store: store, reg: reg}
}

// newSnapshot builds the configuration and templates of a pipeline.
func newSnapshot(t *testing.T, routes string, tmpls map[string]string) *intake.Snapshot {
	t.Helper()
	dir := t.TempDir()
	for name, text := range tmpls {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	getenv := func(k string) string { return testVars[k] }
	kinds := testKinds()
	f, err := config.Parse("relay.yml", []byte(routes), kinds, getenv, os.ReadFile)
	if err != nil {
		t.Fatalf("parse routes file: %v", err)
	}
	cfg, err := config.Build(testEnv(), f, kinds, senders.Env{Getenv: getenv, ReadFile: os.ReadFile})
	if err != nil {
		t.Fatalf("build config: %v", err)
	}
	tm, err := templates.New([]fs.FS{chatwork.Kind{}.Templates()}, dir)
	if err != nil {
		t.Fatalf("load templates: %v", err)
	}
	return &intake.Snapshot{Config: cfg, Templates: tm}
}

// payload reads a fixture of testdata/payloads.
func payload(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "payloads", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// amRequest is an Alertmanager webhook to route.
func amRequest(t *testing.T, route, fixture string) intake.Request {
	t.Helper()
	return intake.Request{Source: "alertmanager", Route: route, ContentType: "application/json",
		Body: payload(t, fixture)}
}
