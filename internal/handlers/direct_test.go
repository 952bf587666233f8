package handlers

import (
	"context"
	"io/fs"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/zap"

	"github.com/relayhq/relay/internal/config"
	"github.com/relayhq/relay/internal/delivery"
	"github.com/relayhq/relay/internal/intake"
	"github.com/relayhq/relay/internal/outbox"
	"github.com/relayhq/relay/internal/senders"
	"github.com/relayhq/relay/internal/senders/chatwork"
	"github.com/relayhq/relay/internal/templates"
)

// memStore is an outbox that keeps what it is given.
type memStore struct {
	mu       sync.Mutex
	messages []delivery.Message
}

func (s *memStore) Enqueue(_ context.Context, b outbox.Batch) (outbox.EnqueueResult, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.messages = append(s.messages, b.Messages...)
	return outbox.EnqueueResult{NotificationID: b.NotificationID, IDs: make([]int64, len(b.Messages))}, nil
}

func (s *memStore) stored() []delivery.Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]delivery.Message(nil), s.messages...)
}

// TestDirectURLsThroughThePipeline serves direct URLs with the real
// pipeline, configuration and kinds (only chatwork's built-in sender has
// credentials): the kind in the URL picks the sender and reads the
// destination, and every refusal has its status and a bounded label.
func TestDirectURLsThroughThePipeline(t *testing.T) {
	t.Parallel()
	getenv := func(k string) string { return map[string]string{chatwork.EnvToken: "cw-token"}[k] }
	cfg, err := config.Build(config.Env{}, nil, testKinds, senders.Env{Getenv: getenv})
	if err != nil {
		t.Fatalf("build config: %v", err)
	}
	tm, err := templates.New([]fs.FS{chatwork.Kind{}.Templates()})
	if err != nil {
		t.Fatalf("load templates: %v", err)
	}
	store := &memStore{}
	p, err := intake.New(store, &intake.Snapshot{Config: cfg, Templates: tm}, zap.NewNop(), prometheus.NewRegistry())
	if err != nil {
		t.Fatalf("new pipeline: %v", err)
	}
	env := newEnv(t, &fakePipeline{}, func(d *Deps) {
		d.Pipeline = p
		d.DirectKinds = testKinds.Direct()
	})

	cases := []struct {
		name, target string
		wantStatus   int
		wantError    string
	}{
		{name: "chatwork room", target: "/v1/generic/chatwork/42", wantStatus: 202},
		{name: "chatwork room that is not an id", target: "/v1/generic/chatwork/042", wantStatus: 400, wantError: "chatwork room id"},
		{name: "unknown template", target: "/v1/generic/chatwork/42?template=nope", wantStatus: 400, wantError: "unknown template"},
		{name: "kind without credentials", target: "/v1/generic/chatmessenger/ops", wantStatus: 404, wantError: "not configured"},
		{name: "kind without direct URLs", target: "/v1/generic/console/1", wantStatus: 404, wantError: `unknown sender kind "console"`},
		{name: "unknown kind", target: "/v1/generic/slack/1", wantStatus: 404, wantError: `unknown sender kind "slack"`},
	}
	for _, tc := range cases {
		w := env.do(t, http.MethodPost, tc.target, "text/plain", "disk full", nil)
		if w.Code != tc.wantStatus {
			t.Errorf("%s: got %d %s, want %d", tc.name, w.Code, w.Body, tc.wantStatus)
			continue
		}
		if tc.wantStatus >= 400 {
			if e := decodeError(t, w); !strings.Contains(e.Error, tc.wantError) {
				t.Errorf("%s: got error %q, want it to say %q", tc.name, e.Error, tc.wantError)
			}
		}
	}

	msgs := store.stored()
	want := delivery.Destination{Sender: chatwork.Name, Address: chatwork.Address("42")}
	if len(msgs) != 1 || msgs[0].Dest != want || msgs[0].Route != "direct:chatwork" {
		t.Errorf("stored %+v, want one message to %+v on route direct:chatwork", msgs, want)
	}
	wantMetrics := `
# HELP relay_webhooks_received_total Webhooks received, by source, route (or direct_<kind>, preview) and status code.
# TYPE relay_webhooks_received_total counter
relay_webhooks_received_total{code="202",route="direct_chatwork",source="generic"} 1
relay_webhooks_received_total{code="400",route="direct_chatwork",source="generic"} 2
relay_webhooks_received_total{code="404",route="direct_chatmessenger",source="generic"} 1
relay_webhooks_received_total{code="404",route="unknown",source="generic"} 2
`
	if err := testutil.GatherAndCompare(env.reg, strings.NewReader(wantMetrics), "relay_webhooks_received_total"); err != nil {
		t.Error(err)
	}
}
