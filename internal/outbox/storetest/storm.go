package storetest

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/relayhq/relay/internal/delivery"
	"github.com/relayhq/relay/internal/limiter"
	"github.com/relayhq/relay/internal/outbox"
)

// pacedRequest claims for room under a paced limit of 10 per 10.24 s
// (whose spacings are whole milliseconds, as stores keep times), with no
// margin, posts of at most 10 units (two bodies of 4 with a separator of
// 2) and a lane quiet after 100 ms.
func pacedRequest(room string) outbox.ClaimRequest {
	req := request(room, 10)
	req.Rules[0].Paced = true
	req.Rules[0].Window = pacedWindow
	req.MaxChars = 10
	req.Quiet = 100 * time.Millisecond
	return req
}

const pacedWindow = 10240 * time.Millisecond

func testPacing(t *testing.T, open Opener) {
	f := setup(t, open)
	req := pacedRequest("1")
	spacing := func(used int) time.Duration { return limiter.Spacing(used, 10, pacedWindow) }

	// The first post to an idle room goes at once, alone.
	f.enqueue("1", "aaaa")
	f.ack(f.claimOK(req, "aaaa"))

	// A second message right behind it is held back while the lane is
	// not quiet: the claim says to look again when it could be.
	f.enqueue("1", "bbbb")
	if c := f.claim(req); len(c.Messages) != 0 || c.Wait != 100*time.Millisecond {
		t.Fatalf("right after a post: got %q, wait %v; want none, 100ms", bodies(c.Messages), c.Wait)
	}
	// Quiet for 100 ms: the burst is over, it goes.
	f.clock.Advance(100 * time.Millisecond)
	f.ack(f.claimOK(req, "bbbb"))

	// A burst arriving: each claim is held back while the spacing after
	// the latest post runs, a quiet period at a time...
	f.enqueue("1", "cc")
	f.clock.Advance(50 * time.Millisecond)
	f.enqueue("1", "dd")
	if c := f.claim(req); len(c.Messages) != 0 || c.Wait != 100*time.Millisecond {
		t.Fatalf("in a burst: got %q, wait %v; want none, 100ms", bodies(c.Messages), c.Wait)
	}
	// ... until the spacing has passed: then it folds what came.
	f.clock.Advance(spacing(2) - 50*time.Millisecond - time.Millisecond)
	f.enqueue("1", "ee")
	if c := f.claim(req); len(c.Messages) != 0 || c.Wait != time.Millisecond {
		t.Fatalf("1 ms before the spacing ends: got %q, wait %v; want none, 1ms", bodies(c.Messages), c.Wait)
	}
	f.clock.Advance(time.Millisecond)
	f.ack(f.claimOK(req, "cc", "dd", "ee"))

	// A post that is full goes at once, spacing or not.
	f.enqueue("1", "ffff", "gggg", "hh")
	f.ack(f.claimOK(req, "ffff", "gggg"))
	// The rest is not full and waits again.
	if c := f.claim(req); len(c.Messages) != 0 || c.Wait == 0 {
		t.Fatalf("after a full post: got %q, wait %v; want a wait", bodies(c.Messages), c.Wait)
	}
	// A wait takes no slot: once the window is empty, the next is a first post.
	f.clock.Advance(10 * time.Second)
	f.ack(f.claimOK(req, "hh"))
}

// claimOK claims and fails the test unless it got want.
func (f *fixture) claimOK(req outbox.ClaimRequest, want ...string) []delivery.Message {
	f.t.Helper()
	c := f.claim(req)
	if got := bodies(c.Messages); !slices.Equal(got, want) {
		f.t.Fatalf("claimed %q (wait %v), want %q", got, c.Wait, want)
	}
	return c.Messages
}

// enqueueLines enqueues one message per body for room, each with the
// line "L<body>" and a tally of one firing alert.
func (f *fixture) enqueueLines(room string, bodies ...string) {
	f.t.Helper()
	b := outbox.Batch{NotificationID: "storm-" + room}
	for _, body := range bodies {
		m := msg(room, body)
		m.Line = "L" + body[:2]
		m.Tally = []delivery.Count{{Status: "firing", Name: "Alert" + body[:2], Severity: "critical", N: 1}}
		b.Messages = append(b.Messages, m)
	}
	if _, err := f.store.Enqueue(f.ctx, b); err != nil {
		f.t.Fatalf("Enqueue: %v", err)
	}
}

func testStormForm(t *testing.T, open Opener) {
	f := setup(t, open)
	// Full-size posts carry two bodies of 10 (10+2+10); a storm post, 20
	// units after a heading of 10, five lines of 3 with newlines.
	req := request("1", 2)
	req.MaxChars, req.Storm, req.HeadingLen = 30, true, 10
	var want []string
	for i := range 6 {
		want = append(want, fmt.Sprintf("%02d", i)+strings.Repeat("x", 8))
	}
	f.enqueueLines("1", want...)

	// Six need three full-size posts, the room has two slots: storm form.
	c := f.claim(req)
	if !c.Storm || !slices.Equal(bodies(c.Messages), want[:5]) || c.Behind != 1 {
		t.Fatalf("got storm %v, %q, behind %d; want a storm post of the first five, one behind", c.Storm, bodies(c.Messages), c.Behind)
	}
	m := c.Messages[0]
	if m.Line != "L00" || !slices.Equal(m.Tally, []delivery.Count{{Status: "firing", Name: "Alert00", Severity: "critical", N: 1}}) {
		t.Errorf("the store lost the one-line form: line %q, tally %+v", m.Line, m.Tally)
	}
	// A dead letter keeps its line and tally, and so does a requeued one.
	if err := f.store.Bury(f.ctx, ids(c.Messages[:1]), "test", ""); err != nil {
		t.Fatal(err)
	}
	dead, err := f.store.DeadLetters(f.ctx, 10)
	if err != nil || len(dead) != 1 || dead[0].Line != "L00" || len(dead[0].Tally) != 1 {
		t.Fatalf("DeadLetters = %+v, %v; want one with its line and tally", dead, err)
	}
	f.ack(c.Messages[1:])
	if _, err := f.store.Requeue(f.ctx, nil); err != nil {
		t.Fatal(err)
	}
	// Two left and one slot: folded in full form, as they fit one post.
	c = f.claim(req)
	if c.Storm || !slices.Equal(bodies(c.Messages), []string{want[5], want[0]}) {
		t.Fatalf("got storm %v, %q; want the last and the requeued one in full form", c.Storm, bodies(c.Messages))
	}
	if c.Messages[1].Line != "L00" || len(c.Messages[1].Tally) != 1 {
		t.Errorf("requeued message lost its line or tally: %+v", c.Messages[1])
	}
}
