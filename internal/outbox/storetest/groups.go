package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/relayhq/relay/internal/delivery"
	"github.com/relayhq/relay/internal/outbox"
)

// manyIDs is more ids than SQLite takes SQL variables in one statement.
const manyIDs = 40000

// withFakes returns real followed by ids no message has, manyIDs in all.
func withFakes(real ...int64) []int64 {
	out := slices.Clone(real)
	for id := int64(1_000_000_000); len(out) < manyIDs; id++ {
		out = append(out, id)
	}
	return out
}

// testManyIDs: every call that takes a list of ids takes 40,000 of them.
func testManyIDs(t *testing.T, open Opener) {
	f := setup(t, open)
	f.enqueue("1", "a")
	f.enqueue("2", "b")
	f.enqueue("3", "c")
	f.enqueue("4", "d")
	a := f.claim(request("1", 10)).Messages
	if err := f.store.Renew(f.ctx, withFakes(ids(a)...), time.Minute); err != nil {
		t.Fatalf("Renew(%d ids): %v", manyIDs, err)
	}
	if err := f.store.Ack(f.ctx, withFakes(ids(a)...)); err != nil {
		t.Fatalf("Ack(%d ids): %v", manyIDs, err)
	}
	b := f.claim(request("2", 10)).Messages
	if err := f.store.Retry(f.ctx, withFakes(ids(b)...), start(), false, "timeout", ""); err != nil {
		t.Fatalf("Retry(%d ids): %v", manyIDs, err)
	}
	c := f.claim(request("3", 10)).Messages
	d := f.claim(request("4", 10)).Messages
	if err := f.store.Bury(f.ctx, withFakes(c[0].ID, d[0].ID), "permanent", ""); err != nil {
		t.Fatalf("Bury(%d ids): %v", manyIDs, err)
	}
	res, err := f.store.Requeue(f.ctx, withFakes(c[0].ID, d[0].ID))
	if err != nil {
		t.Fatalf("Requeue(%d ids): %v", manyIDs, err)
	}
	if res.Requeued != 2 || len(res.Skipped) != manyIDs-2 {
		t.Fatalf("Requeue(%d ids) requeued %d and skipped %d, want 2 and %d", manyIDs, res.Requeued, len(res.Skipped), manyIDs-2)
	}
	if s := res.Skipped[0]; s.ID != 1_000_000_000 || s.Reason != outbox.ReasonNoSuchDeadLetter {
		t.Errorf("first skipped = %+v, want id 1000000000: %q", s, outbox.ReasonNoSuchDeadLetter)
	}
	if got := f.depth(); got != 3 { // b retried, c and d requeued
		t.Errorf("depth = %d, want 3", got)
	}
}

// testRenew: Renew extends an unexpired lease, and leases nothing else.
func testRenew(t *testing.T, open Opener) {
	f := setup(t, open)
	f.enqueue("1", "a")
	f.enqueue("2", "b")
	f.enqueue("3", "c")
	req := request("1", 10)
	req.Lease = time.Minute
	a := f.claim(req).Messages
	f.clock.Advance(50 * time.Second)
	if err := f.store.Renew(f.ctx, ids(a), time.Minute); err != nil {
		t.Fatalf("Renew: %v", err)
	}
	f.clock.Advance(50 * time.Second) // past the first lease, within the renewed one
	if got := f.claim(req).Messages; len(got) != 0 {
		t.Errorf("claimed %q during the renewed lease, want nothing", bodies(got))
	}
	f.clock.Advance(11 * time.Second) // past the renewed lease
	if got := f.claimBodies(req); !slices.Equal(got, []string{"a"}) {
		t.Errorf("after the renewed lease claimed %q, want [a]", got)
	}

	// A lease that expired is not renewed: the message can be claimed.
	req2 := request("2", 10)
	b := f.claim(req2).Messages
	f.clock.Advance(61 * time.Second)
	if err := f.store.Renew(f.ctx, ids(b), time.Hour); err != nil {
		t.Fatalf("Renew of an expired lease: %v", err)
	}
	if got := f.claimBodies(req2); !slices.Equal(got, []string{"b"}) {
		t.Errorf("after renewing an expired lease claimed %q, want [b] (not renewed)", got)
	}

	// Released (Retry) and acked messages are not leased by Renew.
	req3 := request("3", 10)
	c := f.claim(req3).Messages
	if err := f.store.Retry(f.ctx, ids(c), f.clock.Now(), false, "timeout", ""); err != nil {
		t.Fatalf("Retry: %v", err)
	}
	if err := f.store.Renew(f.ctx, ids(c), time.Hour); err != nil {
		t.Fatalf("Renew of a released message: %v", err)
	}
	c = f.claim(req3).Messages
	if !slices.Equal(bodies(c), []string{"c"}) {
		t.Fatalf("after renewing a released message claimed %q, want [c] (not leased)", bodies(c))
	}
	f.ack(c)
	if err := f.store.Renew(f.ctx, ids(c), time.Hour); err != nil {
		t.Errorf("Renew of an acked message: %v, want nil", err)
	}
	if got := f.depth(); got != 2 { // "a" and "b" are still queued
		t.Errorf("depth after renewing an acked message = %d, want 2", got)
	}
}

// grouped is a message for room of notification group g.
func grouped(room, g, body string) delivery.Message {
	m := msg(room, body)
	m.Group = g
	return m
}

// enqueueGrouped enqueues one message of group g for room and returns its id.
func (f *fixture) enqueueGrouped(room, g, body string) int64 {
	f.t.Helper()
	res, err := f.store.Enqueue(f.ctx, outbox.Batch{NotificationID: body, Messages: []delivery.Message{grouped(room, g, body)}})
	if err != nil || len(res.IDs) != 1 {
		f.t.Fatalf("Enqueue(%s) = %+v, %v", body, res, err)
	}
	return res.IDs[0]
}

// settle claims room's next post, wants it to be body, and acks or buries it.
func (f *fixture) settle(room, body string, deliver bool) delivery.Message {
	f.t.Helper()
	c := f.claim(request(room, 10)).Messages
	if len(c) != 1 || c[0].Body != body {
		f.t.Fatalf("claimed %q, want [%s]", bodies(c), body)
	}
	if deliver {
		f.ack(c)
	} else if err := f.store.Bury(f.ctx, ids(c), "http_401", "bad token"); err != nil {
		f.t.Fatalf("Bury: %v", err)
	}
	return c[0]
}

// testRequeueSkipsSuperseded: a firing dead-lettered, then its resolve
// delivered: requeueing the firing would leave the room reading FIRING for a
// resolved alert, so Requeue skips it, says why, and keeps it dead. A
// newer notification queued supersedes too; other groups and other lanes
// do not.
func testRequeueSkipsSuperseded(t *testing.T, open Opener) {
	f := setup(t, open)
	f.enqueueGrouped("1", "g", "g FIRING")
	f.enqueueGrouped("1", "g", "g RESOLVED")
	firing := f.settle("1", "g FIRING", false)
	if firing.Group != "g" {
		t.Errorf("claimed message's Group = %q, want g", firing.Group)
	}
	f.clock.Advance(time.Second)
	resolvedAt := f.clock.Now()
	f.settle("1", "g RESOLVED", true)

	// Group h: its firing died and a newer notification is still queued.
	f.enqueueGrouped("1", "h", "h FIRING")
	hFiring := f.settle("1", "h FIRING", false)
	f.enqueueGrouped("1", "h", "h RESOLVED")

	// Not superseded: group g on another lane, a group with nothing newer,
	// and a message with no group.
	f.enqueueGrouped("2", "g", "g FIRING in room 2")
	other := f.settle("2", "g FIRING in room 2", false)
	f.enqueueGrouped("3", "k", "k FIRING")
	alone := f.settle("3", "k FIRING", false)
	f.enqueue("4", "no group")
	plain := f.settle("4", "no group", false)

	dead, err := f.store.DeadLetters(f.ctx, 0)
	if err != nil {
		t.Fatalf("DeadLetters: %v", err)
	}
	if len(dead) != 5 || dead[0].Group != "g" {
		t.Fatalf("dead letters = %+v, want 5, the first of group g", dead)
	}

	f.clock.Advance(time.Minute)
	res, err := f.store.Requeue(f.ctx, []int64{firing.ID, hFiring.ID, other.ID, alone.ID, plain.ID})
	if err != nil {
		t.Fatalf("Requeue: %v", err)
	}
	want := []outbox.Skipped{
		{ID: firing.ID, Reason: outbox.ReasonSupersededDelivered(resolvedAt)},
		{ID: hFiring.ID, Reason: outbox.ReasonSupersededQueued},
	}
	if res.Requeued != 3 || !slices.Equal(res.Skipped, want) {
		t.Errorf("Requeue = %+v, want 3 requeued and skipped %+v", res, want)
	}
	dead, err = f.store.DeadLetters(f.ctx, 0)
	if err != nil {
		t.Fatalf("DeadLetters: %v", err)
	}
	if got := ids(deadMessages(dead)); !slices.Equal(got, []int64{firing.ID, hFiring.ID}) {
		t.Errorf("dead letters after Requeue = %v, want the superseded %v kept", got, []int64{firing.ID, hFiring.ID})
	}
	// Room 1 reads its story to the end: only h's resolve is left to post.
	if got := f.claimBodies(request("1", 10)); !slices.Equal(got, []string{"h RESOLVED"}) {
		t.Errorf("room 1 next post %q, want [h RESOLVED]", got)
	}
	for room, body := range map[string]string{"2": "g FIRING in room 2", "3": "k FIRING", "4": "no group"} {
		c := f.claim(request(room, 10)).Messages
		if len(c) != 1 || c[0].Body != body {
			t.Errorf("room %s: requeued %q, want [%s]", room, bodies(c), body)
		}
	}
}

// testRequeueAllSkipsSuperseded: Requeue of all dead letters skips the
// superseded ones too; a requeued message keeps its place in its group's
// story, so once the newer one is delivered, it is superseded again.
func testRequeueAllSkipsSuperseded(t *testing.T, open Opener) {
	f := setup(t, open)
	f.enqueueGrouped("1", "g", "g FIRING")
	f.enqueueGrouped("1", "g", "g RESOLVED")
	firing := f.settle("1", "g FIRING", false)
	resolved := f.settle("1", "g RESOLVED", false)
	res, err := f.store.Requeue(f.ctx, nil)
	if err != nil || res.Requeued != 2 || len(res.Skipped) != 0 {
		t.Fatalf("Requeue(all) of a group's whole story = %+v, %v; want both requeued in order", res, err)
	}
	// The requeued firing dies again, the requeued resolve is delivered.
	again := f.settle("1", "g FIRING", false)
	f.settle("1", "g RESOLVED", true)
	res, err = f.store.Requeue(f.ctx, nil)
	if err != nil {
		t.Fatalf("Requeue(all): %v", err)
	}
	if res.Requeued != 0 || len(res.Skipped) != 1 || res.Skipped[0].ID != again.ID {
		t.Errorf("Requeue(all) = %+v, want the firing (%d, first %d; its resolve %d delivered) skipped",
			res, again.ID, firing.ID, resolved.ID)
	}
}

// testGroupPostsRemembered: what was delivered is remembered for
// outbox.GroupPostMemory, not only for a lease or a dedup TTL. (Sweeping
// after it is each store's own test.)
func testGroupPostsRemembered(t *testing.T, open Opener) {
	f := setup(t, open)
	f.enqueueGrouped("1", "g", "g FIRING")
	f.enqueueGrouped("1", "g", "g RESOLVED")
	firing := f.settle("1", "g FIRING", false)
	f.settle("1", "g RESOLVED", true)
	f.clock.Advance(outbox.GroupPostMemory - time.Minute)
	res, err := f.store.Requeue(f.ctx, []int64{firing.ID})
	if err != nil || res.Requeued != 0 || len(res.Skipped) != 1 {
		t.Errorf("Requeue within GroupPostMemory = %+v, %v; want the firing skipped", res, err)
	}
}
