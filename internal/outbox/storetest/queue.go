package storetest

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/relayhq/relay/internal/delivery"
	"github.com/relayhq/relay/internal/outbox"
)

func testBuryRequeue(t *testing.T, open Opener) {
	f := setup(t, open)
	f.enqueue("1", "a", "b")
	req := request("1", 10)
	head := f.claim(req).Messages
	f.clock.Advance(time.Second)
	if err := f.store.Bury(f.ctx, ids(head), "http_400", `{"errors":["bad"]}`); err != nil {
		t.Fatalf("Bury: %v", err)
	}
	dead, err := f.store.DeadLetters(f.ctx, 10)
	if err != nil {
		t.Fatalf("DeadLetters: %v", err)
	}
	if len(dead) != 1 {
		t.Fatalf("%d dead letters, want 1", len(dead))
	}
	d := dead[0]
	if d.ID != head[0].ID || d.Body != "a" || d.Reason != "http_400" || d.Answer != `{"errors":["bad"]}` ||
		!d.DiedAt.Equal(start().Add(time.Second)) || d.Dest.Lane() != head[0].Dest.Lane() {
		t.Errorf("dead letter = %+v, want message %d with reason, answer and death time", d, head[0].ID)
	}
	// The buried head no longer holds the lane.
	next := f.claim(req).Messages
	if !slices.Equal(bodies(next), []string{"b"}) {
		t.Fatalf("after Bury claimed %q, want [b]", bodies(next))
	}
	f.enqueue("1", "c")
	drain(f.store.Wake())
	res, err := f.store.Requeue(f.ctx, []int64{d.ID})
	if err != nil || res.Requeued != 1 || len(res.Skipped) != 0 {
		t.Fatalf("Requeue = %+v, %v; want 1 requeued, none skipped", res, err)
	}
	if !woken(f.store.Wake()) {
		t.Error("Requeue did not signal Wake")
	}
	if dead, _ := f.store.DeadLetters(f.ctx, 10); len(dead) != 0 {
		t.Errorf("%d dead letters after Requeue, want 0", len(dead))
	}
	// The requeued message joins the end of its lane.
	f.ack(next)
	var got []string
	for range 2 {
		c := f.claim(req).Messages
		got = append(got, bodies(c)...)
		for _, m := range c {
			if m.Attempts != 0 || m.ID == d.ID && m.Body == "a" {
				t.Errorf("requeued message %+v: want a new id and no attempts", m)
			}
		}
		f.ack(c)
	}
	if want := []string{"c", "a"}; !slices.Equal(got, want) {
		t.Errorf("after Requeue claimed %q, want %q", got, want)
	}
}

func testRequeueAll(t *testing.T, open Opener) {
	f := setup(t, open)
	ids := f.enqueue("1", "a", "b", "c")
	for _, id := range ids {
		f.clock.Advance(time.Second)
		if err := f.store.Bury(f.ctx, []int64{id}, "permanent", ""); err != nil {
			t.Fatalf("Bury: %v", err)
		}
	}
	dead, err := f.store.DeadLetters(f.ctx, 2)
	if err != nil {
		t.Fatalf("DeadLetters: %v", err)
	}
	if got := bodies(deadMessages(dead)); !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("DeadLetters(2) = %q, want the two oldest [a b]", got)
	}
	res, err := f.store.Requeue(f.ctx, nil)
	if err != nil || res.Requeued != 3 || len(res.Skipped) != 0 {
		t.Fatalf("Requeue(all) = %+v, %v; want 3 requeued, none skipped", res, err)
	}
	if got := f.depth(); got != 3 {
		t.Errorf("depth after Requeue = %d, want 3", got)
	}
	if got := f.claimBodies(request("1", 1)); !slices.Equal(got, []string{"a", "b", "c"}) {
		t.Errorf("requeued order %q, want [a b c]", got)
	}
}

func testDedup(t *testing.T, open Opener) {
	f := setup(t, open)
	batch := func(id string) outbox.Batch {
		return outbox.Batch{NotificationID: id, DedupKey: "group-1", Messages: []delivery.Message{msg("1", id)}}
	}
	first, err := f.store.Enqueue(f.ctx, batch("first"))
	if err != nil || first.Duplicate || len(first.IDs) != 1 {
		t.Fatalf("first Enqueue = %+v, %v", first, err)
	}
	f.clock.Advance(DedupTTL - time.Millisecond)
	dup, err := f.store.Enqueue(f.ctx, batch("second"))
	if err != nil {
		t.Fatalf("duplicate Enqueue: %v", err)
	}
	if !dup.Duplicate || dup.NotificationID != "first" || len(dup.IDs) != 0 {
		t.Errorf("duplicate Enqueue = %+v, want Duplicate of first with no ids", dup)
	}
	if got := f.depth(); got != 1 {
		t.Errorf("depth after duplicate = %d, want 1", got)
	}
	// Past the TTL the key is forgotten.
	f.clock.Advance(time.Millisecond)
	third, err := f.store.Enqueue(f.ctx, batch("third"))
	if err != nil || third.Duplicate || third.NotificationID != "third" || len(third.IDs) != 1 {
		t.Errorf("Enqueue after TTL = %+v, %v; want stored as third", third, err)
	}
}

func testDedupConcurrent(t *testing.T, open Opener) {
	f := setup(t, open)
	const n = 16
	results := make([]outbox.EnqueueResult, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			b := outbox.Batch{NotificationID: fmt.Sprint("n", i), DedupKey: "same",
				Messages: []delivery.Message{msg("1", "x"), msg("2", "y")}}
			var err error
			if results[i], err = f.store.Enqueue(f.ctx, b); err != nil {
				t.Errorf("Enqueue %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	var stored []string
	for _, r := range results {
		if !r.Duplicate {
			stored = append(stored, r.NotificationID)
		}
	}
	if len(stored) != 1 {
		t.Fatalf("%d batches stored, want 1", len(stored))
	}
	for i, r := range results {
		if r.NotificationID != stored[0] {
			t.Errorf("result %d names %q, want the stored batch %q", i, r.NotificationID, stored[0])
		}
	}
	if got := f.depth(); got != 2 {
		t.Errorf("depth = %d, want 2", got)
	}
}

func testMaxQueued(t *testing.T, open Opener) {
	f := setup(t, open)
	for range MaxQueued - 1 {
		f.enqueue("1", "x")
	}
	_, err := f.store.Enqueue(f.ctx, outbox.Batch{NotificationID: "big", Messages: []delivery.Message{msg("2", "a"), msg("2", "b")}})
	if !errors.Is(err, outbox.ErrFull) {
		t.Fatalf("Enqueue over the cap: err = %v, want ErrFull", err)
	}
	if got := f.depth(); got != MaxQueued-1 {
		t.Fatalf("depth after ErrFull = %d, want %d (nothing of the batch stored)", got, MaxQueued-1)
	}
	f.enqueue("2", "fits")
	// Acked and buried messages leave room; dead letters do not count.
	c := f.claim(request("1", 1000))
	f.ack(c.Messages)
	c = f.claim(request("1", 1000))
	if err := f.store.Bury(f.ctx, ids(c.Messages), "permanent", ""); err != nil {
		t.Fatalf("Bury: %v", err)
	}
	f.enqueue("3", "a", "b")
	if _, err := f.store.Enqueue(f.ctx, outbox.Batch{Messages: []delivery.Message{msg("3", "c")}}); !errors.Is(err, outbox.ErrFull) {
		t.Errorf("Enqueue at the cap: err = %v, want ErrFull", err)
	}
}

func testConcurrentBatches(t *testing.T, open Opener) {
	f := setup(t, open)
	const workers, size = 12, 3 // 36 messages offered, MaxQueued admits 6 batches
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		stored int
		full   int
	)
	for i := range workers {
		wg.Go(func() {
			var b outbox.Batch
			for j := range size {
				b.Messages = append(b.Messages, msg(fmt.Sprint(i), fmt.Sprint(j)))
			}
			res, err := f.store.Enqueue(f.ctx, b)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case errors.Is(err, outbox.ErrFull):
				full++
			case err != nil:
				t.Errorf("Enqueue: %v", err)
			case len(res.IDs) != size:
				t.Errorf("Enqueue stored %d ids, want %d", len(res.IDs), size)
			default:
				stored++
			}
		})
	}
	wg.Wait()
	if want := MaxQueued / size; stored != want || full != workers-want {
		t.Errorf("stored %d batches and refused %d, want %d and %d", stored, full, want, workers-want)
	}
	if got := f.depth(); got != stored*size {
		t.Errorf("depth = %d, want %d (whole batches only)", got, stored*size)
	}
}

func testStats(t *testing.T, open Opener) {
	f := setup(t, open)
	f.enqueue("1", "a")
	f.clock.Advance(time.Second)
	f.enqueue("2", "b")
	b := outbox.Batch{Messages: []delivery.Message{msg("1", "c")}}
	b.Messages[0].Dest = delivery.Destination{Sender: "cam", Address: "panel/ops"}
	if _, err := f.store.Enqueue(f.ctx, b); err != nil {
		t.Fatalf("Enqueue: %v", err)
	}
	stats, err := f.store.Stats(f.ctx)
	if err != nil {
		t.Fatalf("Stats: %v", err)
	}
	slices.SortFunc(stats, func(a, b outbox.Stat) int {
		if a.Sender < b.Sender {
			return -1
		}
		return 1
	})
	want := []outbox.Stat{
		{Sender: "cam", Depth: 1, Oldest: start().Add(time.Second)},
		{Sender: "cw", Depth: 2, Oldest: start()},
	}
	if len(stats) != len(want) {
		t.Fatalf("Stats = %+v, want %+v", stats, want)
	}
	for i := range want {
		if stats[i].Sender != want[i].Sender || stats[i].Depth != want[i].Depth || !stats[i].Oldest.Equal(want[i].Oldest) {
			t.Errorf("Stats[%d] = %+v, want %+v", i, stats[i], want[i])
		}
	}
}

func testWake(t *testing.T, open Opener) {
	f := setup(t, open)
	drain(f.store.Wake())
	f.enqueue("1", "a")
	if !woken(f.store.Wake()) {
		t.Error("Enqueue did not signal Wake")
	}
}

func testPing(t *testing.T, open Opener) {
	f := setup(t, open)
	if err := f.store.Ping(f.ctx); err != nil {
		t.Errorf("Ping: %v", err)
	}
}

func deadMessages(dead []outbox.DeadLetter) []delivery.Message {
	var out []delivery.Message
	for _, d := range dead {
		out = append(out, d.Message)
	}
	return out
}

// drain empties a wake channel.
func drain(c <-chan struct{}) {
	for {
		select {
		case <-c:
		default:
			return
		}
	}
}

// woken reports whether c is signalled within a few seconds: a store that
// learns of enqueues asynchronously (PostgreSQL LISTEN) may take a moment.
func woken(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	case <-time.After(5 * time.Second):
		return false
	}
}
