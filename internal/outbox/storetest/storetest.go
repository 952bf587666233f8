// Package storetest is the conformance suite every outbox.Store must pass:
// FIFO lanes, leases, the coalescing rule, retries, dead letters, dedup,
// all-or-nothing batches, the queue cap, Stats and Wake. A store's own test
// calls Run with a function that opens a fresh, empty store.
package storetest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/relayhq/relay/internal/delivery"
	"github.com/relayhq/relay/internal/limiter"
	"github.com/relayhq/relay/internal/outbox"
)

// The store that open returns must be configured with these.
const (
	// DedupTTL is how long the store remembers a DedupKey.
	DedupTTL = time.Hour
	// MaxQueued is the store's cap on queued messages.
	MaxQueued = 20
)

// Opener opens a fresh, empty store whose clock is now, configured with
// DedupTTL and MaxQueued. It closes the store when t ends (t.Cleanup).
type Opener func(t *testing.T, now func() time.Time) outbox.Store

// Run runs the suite against the stores open returns, one per subtest.
func Run(t *testing.T, open func(t *testing.T, now func() time.Time) outbox.Store) {
	cases := []struct {
		name string
		test func(t *testing.T, open Opener)
	}{
		{"FIFOWithinLane", testFIFOWithinLane},
		{"LanesAreIndependent", testLanesAreIndependent},
		{"LeaseHoldsLaneUntilItExpires", testLeaseHoldsLane},
		{"Coalescing", testCoalescing},
		{"LimiterSlotsAndWait", testLimiterSlotsAndWait},
		{"PauseHoldsKey", testPause},
		{"RetryBacksOffAndBlocksLane", testRetry},
		{"BuryDeadLettersRequeue", testBuryRequeue},
		{"RequeueAll", testRequeueAll},
		{"Dedup", testDedup},
		{"DedupConcurrent", testDedupConcurrent},
		{"MaxQueued", testMaxQueued},
		{"BatchesAllOrNothingUnderConcurrency", testConcurrentBatches},
		{"Stats", testStats},
		{"Wake", testWake},
		{"Ping", testPing},
		{"ManyIDs", testManyIDs},
		{"Renew", testRenew},
		{"RequeueSkipsSuperseded", testRequeueSkipsSuperseded},
		{"RequeueAllSkipsSuperseded", testRequeueAllSkipsSuperseded},
		{"GroupPostsRemembered", testGroupPostsRemembered},
		{"FollowKept", testFollowKept},
		{"Progress", testProgress},
		{"ClaimHead", testClaimHead},
		{"SoloNotFolded", testSoloNotFolded},
		{"ProgressRemembersDelivered", testProgressRemembersDelivered},
		{"Pacing", testPacing},
		{"StormForm", testStormForm},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { c.test(t, open) })
	}
}

// start is the suite's clock at the start of each test, on a millisecond.
func start() time.Time { return time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC) }

// clock is a controllable clock, safe for concurrent use.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: start()} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// fixture is a fresh store with its clock.
type fixture struct {
	t     *testing.T
	ctx   context.Context
	clock *clock
	store outbox.Store
}

func setup(t *testing.T, open Opener) *fixture {
	t.Helper()
	c := newClock()
	return &fixture{t: t, ctx: t.Context(), clock: c, store: open(t, c.Now)}
}

// msg is a message for a room.
func msg(room, body string) delivery.Message {
	return delivery.Message{
		Dest:   delivery.Destination{Sender: "cw", Address: "room/" + room},
		Body:   body,
		Source: "alertmanager",
		Route:  "default",
	}
}

func lane(room string) string { return msg(room, "").Dest.Lane() }

// roomRule is a generous room limit unless a test says otherwise.
func roomRule(room string, limit int) limiter.Rule {
	return limiter.Rule{Key: "cw/room/" + room, Limit: limit, Window: 10 * time.Second}
}

// request claims for room under a rule of limit, folding up to 65,535.
func request(room string, limit int) outbox.ClaimRequest {
	return outbox.ClaimRequest{
		Lane:         lane(room),
		Rules:        []limiter.Rule{roomRule(room, limit)},
		MaxChars:     65535,
		SeparatorLen: 2,
		Lease:        time.Minute,
	}
}

// enqueue enqueues one batch of bodies for room and returns the ids.
func (f *fixture) enqueue(room string, bodies ...string) []int64 {
	f.t.Helper()
	b := outbox.Batch{NotificationID: fmt.Sprintf("n-%s-%d", room, len(bodies))}
	for _, body := range bodies {
		b.Messages = append(b.Messages, msg(room, body))
	}
	res, err := f.store.Enqueue(f.ctx, b)
	if err != nil {
		f.t.Fatalf("Enqueue: %v", err)
	}
	if len(res.IDs) != len(bodies) {
		f.t.Fatalf("Enqueue returned %d ids, want %d", len(res.IDs), len(bodies))
	}
	return res.IDs
}

func (f *fixture) claim(req outbox.ClaimRequest) outbox.Claim {
	f.t.Helper()
	c, err := f.store.Claim(f.ctx, req)
	if err != nil {
		f.t.Fatalf("Claim: %v", err)
	}
	return c
}

// claimBodies claims and returns the claimed bodies.
func (f *fixture) claimBodies(req outbox.ClaimRequest) []string {
	f.t.Helper()
	return bodies(f.claim(req).Messages)
}

func (f *fixture) ack(msgs []delivery.Message) {
	f.t.Helper()
	if err := f.store.Ack(f.ctx, ids(msgs)); err != nil {
		f.t.Fatalf("Ack: %v", err)
	}
}

// depth is the number of queued messages over all senders.
func (f *fixture) depth() int {
	f.t.Helper()
	stats, err := f.store.Stats(f.ctx)
	if err != nil {
		f.t.Fatalf("Stats: %v", err)
	}
	n := 0
	for _, s := range stats {
		n += s.Depth
	}
	return n
}

func bodies(msgs []delivery.Message) []string {
	var out []string
	for _, m := range msgs {
		out = append(out, m.Body)
	}
	return out
}

func ids(msgs []delivery.Message) []int64 {
	var out []int64
	for _, m := range msgs {
		out = append(out, m.ID)
	}
	return out
}
