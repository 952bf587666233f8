package dispatcher

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/relayhq/relay/internal/delivery"
	"github.com/relayhq/relay/internal/outbox"
)

func TestNewLaneReadsSenderAndAddress(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name            string
		dest            delivery.Destination
		sender, address string
	}{
		{"chatwork room", delivery.Destination{Sender: "chatwork", Address: "room/42"}, "chatwork", "room/42"},
		{"named sender", delivery.Destination{Sender: "ops-cw.2", Address: "room/7"}, "ops-cw.2", "room/7"},
		{"cam dm", delivery.Destination{Sender: "cam", Address: "panel/messenger?users=a@x,b@x"}, "cam", "panel/messenger?users=a@x,b@x"},
		{"cam room sealed", delivery.Destination{Sender: "cam", Address: "panel/ops?sealed"}, "cam", "panel/ops?sealed"},
		{"sender only", delivery.Destination{Sender: "console"}, "console", ""},
	}
	for _, c := range cases {
		l := newLane(c.dest.Lane())
		if l.sender != c.sender || l.address != c.address {
			t.Errorf("%s: got sender %q address %q, want %q %q", c.name, l.sender, l.address, c.sender, c.address)
		}
	}
}

func TestClaimRequestCarriesThePolicy(t *testing.T) {
	t.Parallel()
	d, err := New(newFakeStore(t), fakeSenders{}, Options{Lease: 2 * time.Minute}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	p := Policy{
		Scope: "chatwork", RateLimitPause: 10 * time.Second, Destination: Limit{10, 10 * time.Second}, Token: Limit{300, 5 * time.Minute},
		TokenKey: "chatwork/token/ab12", Margin: 250 * time.Millisecond, MaxChars: 65535, Separator: "\n[hr]\n",
	}
	cases := []struct {
		name  string
		lane  string
		p     Policy
		rules string
	}{
		{"room and token", "ops/room/42", p, "chatwork/room/42=10/10s chatwork/token/ab12=300/5m0s"},
		{"no destination scope", "cam/panel/ops", Policy{Token: p.Token, TokenKey: p.TokenKey}, "chatwork/token/ab12=300/5m0s"},
		{"a sender with one destination", "hooks", Policy{Scope: "webhook/url/ab", Destination: Limit{1, time.Second}}, "webhook/url/ab/=1/1s"},
		{"only pauses", "ops/room/42", Policy{Scope: "chatwork", RateLimitPause: 10 * time.Second, TokenKey: "t"}, "chatwork/room/42=2147483647/0s t=2147483647/0s"},
		{"no scope, no key", "ops/room/42", Policy{}, ""},
	}
	for _, c := range cases {
		req := d.claimRequest(newLane(c.lane), c.p, postOp)
		var rules []string
		for _, r := range req.Rules {
			rules = append(rules, r.Key+"="+strconv.Itoa(r.Limit)+"/"+r.Window.String())
		}
		if got := strings.Join(rules, " "); got != c.rules {
			t.Errorf("%s: got rules %q, want %q", c.name, got, c.rules)
		}
		if req.Lane != c.lane || req.Lease != 2*time.Minute || req.Margin != c.p.Margin ||
			req.MaxChars != c.p.MaxChars || req.SeparatorLen != delivery.Len(c.p.Separator) {
			t.Errorf("%s: got request %+v", c.name, req)
		}
	}
}

func TestBackoffGrowsToItsCapWithFullJitter(t *testing.T) {
	t.Parallel()
	cases := []struct {
		attempt int
		rand    float64
		want    time.Duration
	}{
		{1, 0.999, 999 * time.Millisecond},
		{1, 0, 0},
		{2, 0.5, time.Second},
		{4, 0.5, 4 * time.Second},
		{9, 0.5, 128 * time.Second},
		{10, 0.5, 150 * time.Second},
		{1000, 0.5, 150 * time.Second},
	}
	for _, c := range cases {
		d, err := New(newFakeStore(t), fakeSenders{}, Options{Rand: func() float64 { return c.rand }}, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := d.backoff(c.attempt); got != c.want {
			t.Errorf("backoff(%d) with rand %v = %v, want %v", c.attempt, c.rand, got, c.want)
		}
	}
}

func TestNewRejectsBadOptions(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		opts Options
	}{
		{"negative", Options{MaxAttempts: -1}},
		{"max below base", Options{BackoffBase: time.Minute, BackoffMax: time.Second}},
		{"lease too short to renew", Options{Lease: time.Millisecond}},
	}
	for _, c := range cases {
		if _, err := New(newFakeStore(t), fakeSenders{}, c.opts, nil, nil); err == nil {
			t.Errorf("%s: got no error", c.name)
		}
	}
	if _, err := New(nil, fakeSenders{}, Options{}, nil, nil); err == nil {
		t.Error("nil store: got no error")
	}
}

func TestWarnsOnlyWhenTheLaneStateChanges(t *testing.T) {
	t.Parallel()
	store := newFakeStore(t)
	fail := &delivery.Error{Class: delivery.Retryable, Reason: "http_503", Status: 503, Answer: "Service Unavailable"}
	sender := newFakeSender(t, func(n int, _ post) (delivery.Receipt, error) {
		if n < 3 {
			return delivery.Receipt{}, fail
		}
		return delivery.Receipt{}, nil
	})
	core, logs := observer.New(zapcore.DebugLevel)
	opts := fastOptions()
	clock := onFakeClock(&opts, store, sender)
	store.add(room("1"), clock.Now(), "flaky", "after")
	_, stop := start(t, store, senders(sender, Policy{Scope: "chatwork", RateLimitPause: 10 * time.Second}), opts, zap.New(core))
	drive(t, clock, "the queue to drain", func() bool { left, _ := store.left(); return len(left) == 0 })
	stop()

	var levels []string
	for _, e := range logs.FilterField(zap.String("lane", "cw/room/1")).All() {
		levels = append(levels, e.Level.String()+":"+e.ContextMap()["outcome"].(string))
	}
	want := "warn:retryable debug:retryable debug:retryable info:success info:success"
	if got := strings.Join(levels, " "); got != want {
		t.Errorf("got log levels %q, want %q", got, want)
	}
	first := logs.FilterMessage("delivery retryable").All()[0].ContextMap()
	if first["reason"] != "http_503" || first["answer"] != "Service Unavailable" || first["first_id"] != int64(1) || first["last_id"] != int64(1) || first["messages"] != int64(1) || first["notification_id"] != "n1" {
		t.Errorf("got fields %v, want reason, answer, message count and ids", first)
	}
}

// statsStore reports fixed stats, or an error.
type statsStore struct {
	*fakeStore
	err error
}

func (s statsStore) Stats(context.Context) ([]outbox.Stat, error) {
	if s.err != nil {
		return nil, s.err
	}
	return []outbox.Stat{
		{Sender: "chatwork", Depth: 12, Oldest: time.Unix(1_700_000_000, 0)},
		{Sender: "cam", Depth: 0},
	}, nil
}

func TestQueueMetricsComeFromStoreStats(t *testing.T) {
	t.Parallel()
	now := func() time.Time { return time.Unix(1_700_000_090, 0) }
	c := newQueueCollector(statsStore{fakeStore: newFakeStore(t)}, now)
	want := `
# HELP relay_queue_depth Messages queued for delivery (dead letters not included).
# TYPE relay_queue_depth gauge
relay_queue_depth{sender="cam"} 0
relay_queue_depth{sender="chatwork"} 12
# HELP relay_queue_oldest_age_seconds Age of the oldest queued message, 0 when none.
# TYPE relay_queue_oldest_age_seconds gauge
relay_queue_oldest_age_seconds{sender="cam"} 0
relay_queue_oldest_age_seconds{sender="chatwork"} 90
`
	if err := testutil.CollectAndCompare(c, strings.NewReader(want)); err != nil {
		t.Error(err)
	}
	failing := newQueueCollector(statsStore{fakeStore: newFakeStore(t), err: errors.New("database is locked")}, now)
	reg := prometheus.NewRegistry()
	reg.MustRegister(failing)
	if _, err := reg.Gather(); err == nil || !strings.Contains(err.Error(), "database is locked") {
		t.Errorf("got %v, want the store error surfaced to the scrape", err)
	}
}

func TestMetricsStartAtZeroForASender(t *testing.T) {
	t.Parallel()
	store := newFakeStore(t)
	store.add(room("1"), time.Now(), "one")
	reg, stop := start(t, store, senders(newFakeSender(t, nil), Policy{Scope: "chatwork", RateLimitPause: 10 * time.Second}), fastOptions(), nil)
	eventually(t, "the queue to drain", func() bool { left, _ := store.left(); return len(left) == 0 })
	stop()
	for _, o := range []string{"retryable", "rate_limited", "permanent"} {
		if got := value(t, reg, "relay_posts_total", "sender", cw, "outcome", o); got != 0 {
			t.Errorf("relay_posts_total{outcome=%q} = %v, want 0", o, got)
		}
	}
	if got := value(t, reg, "relay_upstream_rate_limited_total", "sender", cw); got != 0 {
		t.Errorf("rate limited = %v, want 0", got)
	}
}
