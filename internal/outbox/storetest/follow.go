package storetest

import (
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/relayhq/relay/internal/delivery"
	"github.com/relayhq/relay/internal/outbox"
)

// followed is a message of group g for room that a kind follows.
func followed(room, g, body, follow string, solo bool) delivery.Message {
	m := grouped(room, g, body)
	m.Follow, m.Solo = follow, solo
	return m
}

// enqueueMessages enqueues msgs as one batch and returns their ids.
func (f *fixture) enqueueMessages(msgs ...delivery.Message) []int64 {
	f.t.Helper()
	res, err := f.store.Enqueue(f.ctx, outbox.Batch{NotificationID: msgs[0].Body, Messages: msgs})
	if err != nil || len(res.IDs) != len(msgs) {
		f.t.Fatalf("Enqueue = %+v, %v", res, err)
	}
	return res.IDs
}

func (f *fixture) progress(p outbox.Progress) {
	f.t.Helper()
	if err := f.store.Progress(f.ctx, p); err != nil {
		f.t.Fatalf("Progress: %v", err)
	}
}

func (f *fixture) states(room string, groups ...string) map[string]string {
	f.t.Helper()
	st, err := f.store.GroupStates(f.ctx, lane(room), groups)
	if err != nil {
		f.t.Fatalf("GroupStates: %v", err)
	}
	return st
}

// testFollowKept: a message's Follow, Solo and Step are stored with it and
// come back from Head, Claim, the dead letters and Requeue.
func testFollowKept(t *testing.T, open Opener) {
	f := setup(t, open)
	if _, ok, err := f.store.Head(f.ctx, lane("1")); ok || err != nil {
		t.Fatalf("Head of an empty lane = %v, %v; want nothing", ok, err)
	}
	f.enqueueMessages(followed("1", "g", "g FIRING", `{"s":"firing"}`, true))
	head, ok, err := f.store.Head(f.ctx, lane("1"))
	if err != nil || !ok || head.Body != "g FIRING" || head.Follow != `{"s":"firing"}` || !head.Solo || head.Step != 0 {
		t.Fatalf("Head = %+v, %v, %v; want g FIRING with its follow, solo, step 0", head, ok, err)
	}
	c := f.claim(request("1", 10)).Messages
	if len(c) != 1 || c[0].Follow != head.Follow || !c[0].Solo {
		t.Fatalf("claimed %+v, want the head with its follow", c)
	}
	// Leased, it is still the head.
	if again, ok, _ := f.store.Head(f.ctx, lane("1")); !ok || again.ID != head.ID {
		t.Errorf("Head of a leased lane = %+v, %v; want the leased head", again, ok)
	}
	f.progress(outbox.Progress{Next: ids(c)})
	c = f.claim(request("1", 10)).Messages
	if len(c) != 1 || c[0].Step != 1 {
		t.Fatalf("after Progress.Next claimed %+v, want the message at step 1", c)
	}
	if err := f.store.Bury(f.ctx, ids(c), "bad_account", ""); err != nil {
		t.Fatalf("Bury: %v", err)
	}
	dead, err := f.store.DeadLetters(f.ctx, 0)
	if err != nil || len(dead) != 1 || dead[0].Follow != head.Follow || !dead[0].Solo || dead[0].Step != 1 {
		t.Fatalf("dead letters = %+v, %v; want the message with its follow at step 1", dead, err)
	}
	if res, err := f.store.Requeue(f.ctx, nil); err != nil || res.Requeued != 1 {
		t.Fatalf("Requeue = %+v, %v", res, err)
	}
	c = f.claim(request("1", 10)).Messages
	if len(c) != 1 || c[0].Follow != head.Follow || !c[0].Solo || c[0].Step != 1 {
		t.Errorf("requeued %+v, want it to resume at step 1 with its follow", c)
	}
}

// testProgress: Progress writes group states, acks some messages (and
// remembers them in group_posts) and moves others to their next step, at
// once claimable and claimed alone.
func testProgress(t *testing.T, open Opener) {
	f := setup(t, open)
	f.enqueueMessages(followed("1", "g", "g FIRING", "task", false), grouped("1", "h", "h FIRING"))
	f.enqueueMessages(grouped("1", "k", "k FIRING"))
	// A limit of 1 with three queued: the claim folds, as many as fit.
	c := f.claim(request("1", 1)).Messages
	if !slices.Equal(bodies(c), []string{"g FIRING", "h FIRING", "k FIRING"}) {
		t.Fatalf("claimed %q, want all three folded", bodies(c))
	}
	f.progress(outbox.Progress{
		Acked:  []int64{c[1].ID, c[2].ID},
		Next:   []int64{c[0].ID},
		States: []outbox.GroupState{{Lane: lane("1"), Group: "g", State: "m=1"}, {Lane: lane("1"), Group: "h", State: "m=1 shared"}},
	})
	want := map[string]string{"g": "m=1", "h": "m=1 shared"}
	if got := f.states("1", "g", "h", "k"); !maps.Equal(got, want) {
		t.Errorf("GroupStates = %v, want %v", got, want)
	}
	if got := f.states("2", "g"); len(got) != 0 {
		t.Errorf("GroupStates of another lane = %v, want none", got)
	}
	f.enqueueMessages(grouped("1", "h", "h RESOLVED"))
	f.clock.Advance(11 * time.Second) // the room's slot is free again
	next := f.claim(request("1", 1)).Messages
	if len(next) != 1 || next[0].ID != c[0].ID || next[0].Step != 1 {
		t.Fatalf("claimed %+v, want g FIRING alone at step 1", next)
	}
	f.progress(outbox.Progress{Acked: ids(next), States: []outbox.GroupState{{Lane: lane("1"), Group: "g", State: "m=1 task=7"}}})
	if got := f.states("1", "g")["g"]; got != "m=1 task=7" {
		t.Errorf("state of g = %q, want it overwritten", got)
	}
	f.clock.Advance(11 * time.Second)
	if got := f.claimBodies(request("1", 1)); !slices.Equal(got, []string{"h RESOLVED"}) {
		t.Errorf("claimed %q after the acks, want [h RESOLVED]", got)
	}
	if got := f.depth(); got != 1 {
		t.Errorf("depth = %d, want 1", got)
	}
}

// testClaimHead: a claim for a planned head takes nothing, and no slot,
// when the lane's head is another message or at another step.
func testClaimHead(t *testing.T, open Opener) {
	f := setup(t, open)
	first := f.enqueue("1", "a")[0]
	f.enqueue("1", "b")
	req := request("1", 1)
	req.Head = first + 1
	if c := f.claim(req); len(c.Messages) != 0 || !c.Moved {
		t.Fatalf("claim for head %d = %+v, want Moved", req.Head, c)
	}
	req.Head, req.HeadStep = first, 1
	if c := f.claim(req); len(c.Messages) != 0 || !c.Moved {
		t.Fatalf("claim for head %d at step 1 = %+v, want Moved", req.Head, c)
	}
	req.HeadStep = 0
	c := f.claim(req)
	if c.Moved || !slices.Equal(bodies(c.Messages), []string{"a", "b"}) {
		t.Fatalf("claim for the head = %+v, want [a b] folded (no slot was spent by the moved claims)", c)
	}
	f.ack(c.Messages)
	req.Head = first
	if c := f.claim(req); len(c.Messages) != 0 || !c.Moved {
		t.Errorf("claim for a head on an empty lane = %+v, want Moved", c)
	}
}

// testSoloNotFolded: a Solo message is never folded: as the head it is
// claimed alone, behind the head it ends the post.
func testSoloNotFolded(t *testing.T, open Opener) {
	f := setup(t, open)
	f.enqueueMessages(msg("1", "a"), msg("1", "b"), followed("1", "g", "g RESOLVED", "edit", true), msg("1", "c"))
	c := f.claim(request("1", 1)).Messages
	if !slices.Equal(bodies(c), []string{"a", "b"}) {
		t.Fatalf("claimed %q, want [a b]: the solo message ends the post", bodies(c))
	}
	f.ack(c)
	f.clock.Advance(11 * time.Second)
	c = f.claim(request("1", 1)).Messages
	if !slices.Equal(bodies(c), []string{"g RESOLVED"}) {
		t.Fatalf("claimed %q, want [g RESOLVED] alone", bodies(c))
	}
}

// testProgressRemembersDelivered: a message acked by Progress is
// remembered as delivered, as by Ack: an older notification of its group
// that died is superseded.
func testProgressRemembersDelivered(t *testing.T, open Opener) {
	f := setup(t, open)
	f.enqueueGrouped("1", "g", "g FIRING")
	f.enqueueMessages(followed("1", "g", "g RESOLVED", "edit", true))
	firing := f.settle("1", "g FIRING", false)
	c := f.claim(request("1", 10)).Messages
	if len(c) != 1 || c[0].Body != "g RESOLVED" {
		t.Fatalf("claimed %q, want [g RESOLVED]", bodies(c))
	}
	f.clock.Advance(time.Second)
	at := f.clock.Now()
	f.progress(outbox.Progress{Acked: ids(c), States: []outbox.GroupState{{Lane: lane("1"), Group: "g", State: "resolved"}}})
	res, err := f.store.Requeue(f.ctx, []int64{firing.ID})
	want := []outbox.Skipped{{ID: firing.ID, Reason: outbox.ReasonSupersededDelivered(at)}}
	if err != nil || res.Requeued != 0 || !slices.Equal(res.Skipped, want) {
		t.Errorf("Requeue = %+v, %v; want the firing skipped as %+v", res, err, want)
	}
	if got := f.depth(); got != 0 {
		t.Errorf("depth = %d, want 0", got)
	}
}
