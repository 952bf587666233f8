package dispatcher

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/relayhq/relay/internal/delivery"
)

// TestHungRoomsDelayNoOtherLane: 40 rooms whose upstream never answers
// hold their posts in flight for the whole test; a healthy room of the
// same sender and host, and a direct message of another sender, are still
// delivered.
func TestHungRoomsDelayNoOtherLane(t *testing.T) {
	t.Parallel()
	store := newFakeStore(t)
	release := make(chan struct{})
	defer close(release)
	hung := newFakeSender(t, func(_ int, p post) (delivery.Receipt, error) {
		if p.body == "hang" {
			<-release
		}
		return delivery.Receipt{}, nil
	})
	dm := newFakeSender(t, nil)
	for i := range 40 {
		store.add(room(fmt.Sprint(100+i)), time.Now(), "hang")
	}
	ss := fakeSenders{
		cw:    {hung, Policy{Scope: "chatwork", RateLimitPause: 10 * time.Second, Host: "api.chatwork.test"}},
		"cam": {dm, Policy{Scope: "chatmessenger", Host: "cam.test"}},
	}
	opts := fastOptions()
	opts.SendTimeout, opts.Lease = time.Hour, 2*time.Hour
	start(t, store, ss, opts, nil)
	eventually(t, "40 hung posts in flight", func() bool { return len(hung.sent()) == 40 })

	store.add(room("1"), time.Now(), "healthy")
	store.add(delivery.Destination{Sender: "cam", Address: "panel/messenger?users=oncall@example.com"}, time.Now(), "page")
	eventually(t, "the healthy room's post", func() bool { return len(hung.sent()) == 41 })
	eventually(t, "the direct message", func() bool { return len(dm.sent()) == 1 })
	if p := hung.sent()[40]; p.body != "healthy" || p.dest.Address != "room/1" {
		t.Errorf("got post %+v, want the healthy room's", p)
	}
}

// TestFailingLanesShareAQuarterOfThePool: lanes whose last attempt failed
// hold at most a quarter of a pool's slots; the rest stays for the lanes
// that work.
func TestFailingLanesShareAQuarterOfThePool(t *testing.T) {
	t.Parallel()
	p := newPool(8)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	for i := range 2 {
		if !p.acquire(ctx, true) {
			t.Fatalf("failing acquire %d refused, want 2 granted", i+1)
		}
	}
	if p.acquire(ctx, true) {
		t.Fatal("third failing acquire granted, want it to wait (a quarter of 8 is 2)")
	}
	for i := range 6 {
		if !p.acquire(context.Background(), false) {
			t.Fatalf("healthy acquire %d refused", i+1)
		}
	}
	// Full now; a failing slot released frees one slot of the pool.
	p.release(true)
	if !p.acquire(context.Background(), false) {
		t.Fatal("healthy acquire after a release refused")
	}
}

// swapSenders is a Senders whose set a test can change while the
// dispatcher runs, as a reload does.
type swapSenders struct {
	mu sync.Mutex
	m  fakeSenders
}

func (s *swapSenders) Lookup(name string) (Sender, Policy, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.m.Lookup(name)
}

func (s *swapSenders) set(m fakeSenders) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m = m
}

// TestLaneOfAnUnknownSenderIsHeldNotBuried: a reload that renames a
// sender leaves its queued messages where they are; they go out once a
// reload brings the name back.
func TestLaneOfAnUnknownSenderIsHeldNotBuried(t *testing.T) {
	t.Parallel()
	store := newFakeStore(t)
	sender := newFakeSender(t, nil)
	ss := &swapSenders{m: senders(sender, Policy{Scope: "chatwork", RateLimitPause: 10 * time.Second})}
	opts := fastOptions()
	clock := onFakeClock(&opts, store, sender)
	t0 := clock.Now()
	store.add(delivery.Destination{Sender: "renamed", Address: "room/2"}, clock.Now(), "held")
	store.add(room("1"), clock.Now(), "fresh")
	reg, _ := start(t, store, ss, opts, nil)
	eventually(t, "the fresh post", func() bool { return len(sender.sent()) == 1 })
	eventually(t, "the held lane counted", func() bool {
		v, _ := lookup(t, reg, "relay_lane_held_total", "sender", "renamed")
		return v == 1
	})
	// The held lane looks its sender up again every poll interval, and
	// keeps its message.
	later := t0.Add(5 * opts.PollInterval)
	drive(t, clock, "five poll intervals", func() bool { return !clock.Now().Before(later) })
	if left, _ := store.left(); len(left) != 1 || left[0] != "held" {
		t.Fatalf("got queue %q, want the held message still queued", left)
	}
	if dead := store.deadLetters(); len(dead) != 0 {
		t.Fatalf("got dead letters %+v, want none", dead)
	}
	if got := value(t, reg, "relay_lane_held_total", "sender", "renamed"); got != 1 {
		t.Errorf("relay_lane_held_total = %v, want 1 (counted when the lane is held, not per look-up)", got)
	}
	ss.set(fakeSenders{cw: {sender, Policy{Scope: "chatwork", RateLimitPause: 10 * time.Second}}, "renamed": {sender, Policy{Scope: "chatwork", RateLimitPause: 10 * time.Second}}})
	drive(t, clock, "the held post", func() bool { return len(sender.sent()) == 2 })
	if p := sender.sent()[1]; p.body != "held" {
		t.Errorf("got post %q, want the held message", p.body)
	}
}
