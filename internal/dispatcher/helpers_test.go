package dispatcher

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
)

// chatwork is the sender name and destination the unit tests use.
const cw = "cw"

// fastOptions are Options that make retries quick in tests.
func fastOptions() Options {
	return Options{
		BackoffBase:  time.Millisecond,
		BackoffMax:   5 * time.Millisecond,
		PollInterval: 20 * time.Millisecond,
	}
}

// start builds a dispatcher and runs it until the test ends; the returned
// stop cancels Run and waits for it to return nil.
func start(t *testing.T, store Store, senders Senders, opts Options, logger *zap.Logger) (reg *prometheus.Registry, stop func()) {
	t.Helper()
	reg = prometheus.NewRegistry()
	if logger == nil {
		logger = zap.NewNop()
	}
	d, err := New(store, senders, opts, logger, reg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := AwaitRun(t, opts.Clock, done); err != nil {
			t.Errorf("Run returned %v, want nil", err)
		}
	}
	t.Cleanup(stop)
	return reg, stop
}

// eventually waits until cond holds, failing the test after a generous
// timeout (a hang, not a speed requirement).
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// onFakeClock puts the dispatcher's options, store and senders on one
// fake clock and returns it; the test advances it with drive. The poll
// interval becomes a minute: every listing holds the supervisor for a real
// relistAfter, and on a fake clock the lanes need no frequent poll.
func onFakeClock(opts *Options, store *fakeStore, senders ...*fakeSender) *FakeClock {
	c := NewFakeClock(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	opts.Clock, store.clock = c, c
	opts.PollInterval = time.Minute
	for _, s := range senders {
		s.clock = c
	}
	return c
}

// drive advances clock until cond holds, whenever the supervisor and the
// test's one lane are both asleep.
func drive(t *testing.T, clock *FakeClock, what string, cond func() bool) {
	t.Helper()
	Drive(t, clock, what, func() int { return 2 }, cond)
}

func senders(s Sender, p Policy) fakeSenders {
	return fakeSenders{cw: {s, p}}
}

// value returns the value of the series name{labels} in reg: a counter's
// or gauge's value, a histogram's sample count. It fails the test if the
// series does not exist.
func value(t *testing.T, reg *prometheus.Registry, name string, labels ...string) float64 {
	t.Helper()
	v, ok := lookup(t, reg, name, labels...)
	if !ok {
		t.Fatalf("no series %s%v", name, labels)
	}
	return v
}

// lookup is value, with ok false when the series does not exist (yet).
func lookup(t *testing.T, reg *prometheus.Registry, name string, labels ...string) (float64, bool) {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	series:
		for _, m := range f.GetMetric() {
			have := map[string]string{}
			for _, l := range m.GetLabel() {
				have[l.GetName()] = l.GetValue()
			}
			for i := 0; i+1 < len(labels); i += 2 {
				if have[labels[i]] != labels[i+1] {
					continue series
				}
			}
			switch {
			case m.Counter != nil:
				return m.GetCounter().GetValue(), true
			case m.Gauge != nil:
				return m.GetGauge().GetValue(), true
			case m.Histogram != nil:
				return float64(m.GetHistogram().GetSampleCount()), true
			}
		}
	}
	return 0, false
}

// Value is value, for the package's external tests.
func Value(t *testing.T, reg *prometheus.Registry, name string, labels ...string) float64 {
	t.Helper()
	return value(t, reg, name, labels...)
}
