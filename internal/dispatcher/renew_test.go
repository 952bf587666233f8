package dispatcher

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/relayhq/relay/internal/delivery"
	"github.com/relayhq/relay/internal/outbox"
)

func TestAPostInFlightKeepsItsLeasePastTheLease(t *testing.T) {
	t.Parallel()
	store := newFakeStore(t)
	release := make(chan struct{})
	sender := newFakeSender(t, func(int, post) (delivery.Receipt, error) {
		<-release // an upstream that takes longer than the lease
		return delivery.Receipt{}, nil
	})
	opts := fastOptions()
	opts.Lease, opts.SendTimeout = 6*time.Second, time.Minute
	clock := onFakeClock(&opts, store, sender)
	store.add(room("1"), clock.Now(), "a")
	start(t, store, senders(sender, Policy{Scope: "chatwork"}), opts, nil)
	var once sync.Once
	unblock := func() { once.Do(func() { close(release) }) }
	t.Cleanup(unblock) // before the stop start registered: a failed test still stops
	eventually(t, "the post in flight", func() bool { return len(sender.sent()) == 1 })

	renews := func() int {
		store.mu.Lock()
		defer store.mu.Unlock()
		return store.renews
	}
	// Every Lease/3 the lease is renewed: after five times the lease,
	// another worker still finds the lane held.
	for i := 1; i <= 15; i++ {
		// Advance only once the renewal timer is armed again.
		eventually(t, "the renewal timer", func() bool { return clock.Background() == 1 })
		clock.Advance(2 * time.Second)
		eventually(t, "a renewal", func() bool { return renews() >= i })
	}
	c, err := store.Claim(context.Background(), outbox.ClaimRequest{Lane: room("1").Lane(), Lease: opts.Lease})
	if err != nil || len(c.Messages) != 0 {
		t.Fatalf("another worker claimed %d messages (%v) from a lane whose post is in flight", len(c.Messages), err)
	}
	unblock()
	eventually(t, "the ack", func() bool { left, _ := store.left(); return len(left) == 0 })
	if n := len(sender.sent()); n != 1 {
		t.Errorf("got %d posts, want 1", n)
	}
}

func TestAPostLeftBehindByADeadWorkerIsTakenOverAfterTheLease(t *testing.T) {
	t.Parallel()
	// The dispatcher of another process claimed "a" and died: nothing
	// renews its lease, and this dispatcher posts it once the lease ends.
	store := newFakeStore(t)
	sender := newFakeSender(t, nil)
	opts := fastOptions()
	clock := onFakeClock(&opts, store, sender)
	store.add(room("1"), clock.Now(), "a")
	if c, err := store.Claim(context.Background(), outbox.ClaimRequest{Lane: room("1").Lane(), Lease: 6 * time.Second}); err != nil || len(c.Messages) != 1 {
		t.Fatalf("the dead worker's claim: %v, %v", c, err)
	}
	start(t, store, senders(sender, Policy{Scope: "chatwork"}), opts, nil)
	// Idle: only the supervisor's poll (a minute on the fake clock) waits.
	Drive(t, clock, "the post", func() int { return 1 }, func() bool { return len(sender.sent()) == 1 })
	if p := sender.sent()[0]; !strings.Contains(p.body, "a") || p.at.Sub(clock.Now()) > 0 {
		t.Errorf("got post %+v", p)
	}
}

func TestStormBody(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)
	m := func(id int64, nid, line string, tally ...delivery.Count) delivery.Message {
		return delivery.Message{ID: id, NotificationID: nid, Line: line, Tally: tally, Body: "full " + line + "\nmore", CreatedAt: at.Add(time.Duration(id) * time.Second)}
	}
	msgs := []delivery.Message{
		m(1, "n1", "[FIRING:2] DiskFull (critical)", delivery.Count{Status: "firing", Name: "DiskFull", Severity: "critical", N: 2}),
		m(2, "n2", "[FIRING:1] HighCPU (warning) part 1", delivery.Count{Status: "firing", Name: "HighCPU", Severity: "warning", N: 1}),
		m(3, "n2", "[FIRING:1] HighCPU (warning) part 1", delivery.Count{Status: "firing", Name: "HighCPU", Severity: "warning", N: 1}),
		m(4, "n3", "", delivery.Count{Status: "resolved", Name: "DiskFull", Severity: "critical", N: 1}),
	}
	p := Policy{Headed: func(h, b string) string { return "<" + h + ">" + b + "</>" }}
	got := stormBody(p, msgs, 1234)
	want := "<Alert storm: 3 notifications in this post, 1,234 more follow>" +
		"4 alerts: firing 3, resolved 1. Severity: critical 3, warning 1.\n" + // the parts of one message count once
		"Names: DiskFull 3, HighCPU 1.\n" +
		"Received 2026-05-06 07:08:10 to 07:08:13 UTC.\n" +
		"[FIRING:2] DiskFull (critical)\n" +
		"[FIRING:1] HighCPU (warning) part 1\n" + // the parts of one message, once
		"full</>" // no line: the body's first line
	if got != want {
		t.Errorf("stormBody =\n%s\nwant\n%s", got, want)
	}
	// A heading never outgrows the room the claim kept for it.
	var many []delivery.Message
	for i := range 40 {
		many = append(many, m(int64(i), fmt.Sprint("n", i), "x", delivery.Count{Name: string(rune('A'+i)) + strings.Repeat("N", 100), N: 1}))
	}
	body := stormBody(Policy{}, many, 0)
	heading, _, _ := strings.Cut(body, "\nx\n")
	if n := delivery.Len(heading); n > stormHeadingLen {
		t.Errorf("heading of %d units, want at most %d", n, stormHeadingLen)
	}
	if !strings.Contains(body, "and 35 other names") {
		t.Errorf("heading does not say how many names it left out:\n%s", heading)
	}
}
