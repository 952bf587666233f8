package storetest

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/relayhq/relay/internal/limiter"
)

func testFIFOWithinLane(t *testing.T, open Opener) {
	f := setup(t, open)
	f.enqueue("1", "a", "b")
	f.enqueue("1", "c")
	var got []string
	for range 3 {
		c := f.claim(request("1", 10))
		got = append(got, bodies(c.Messages)...)
		f.ack(c.Messages)
	}
	if want := []string{"a", "b", "c"}; !slices.Equal(got, want) {
		t.Errorf("claimed %q, want %q", got, want)
	}
	if c := f.claim(request("1", 10)); len(c.Messages) != 0 || c.Wait != 0 {
		t.Errorf("empty lane: got %d messages, wait %s; want none, 0", len(c.Messages), c.Wait)
	}
}

func testLanesAreIndependent(t *testing.T, open Opener) {
	f := setup(t, open)
	f.enqueue("1", "one")
	f.enqueue("2", "two")
	lanes, err := f.store.Lanes(f.ctx)
	if err != nil {
		t.Fatalf("Lanes: %v", err)
	}
	if want := []string{lane("1"), lane("2")}; !slices.Equal(lanes, want) {
		t.Errorf("Lanes = %q, want %q", lanes, want)
	}
	// Lane 1 is claimed (leased); lane 2 is not held up by it.
	if got := f.claimBodies(request("1", 10)); !slices.Equal(got, []string{"one"}) {
		t.Fatalf("lane 1 claimed %q", got)
	}
	if got := f.claimBodies(request("2", 10)); !slices.Equal(got, []string{"two"}) {
		t.Errorf("lane 2 claimed %q, want [two]", got)
	}
}

func testLeaseHoldsLane(t *testing.T, open Opener) {
	f := setup(t, open)
	f.enqueue("1", "a", "b")
	first := f.claim(request("1", 10))
	if !slices.Equal(bodies(first.Messages), []string{"a"}) {
		t.Fatalf("claimed %q, want [a]", bodies(first.Messages))
	}
	// While the lease runs, the lane is held: no message, no wait.
	f.clock.Advance(time.Minute - time.Millisecond)
	if c := f.claim(request("1", 10)); len(c.Messages) != 0 || c.Wait != 0 {
		t.Errorf("leased lane: got %q, wait %s; want none, 0", bodies(c.Messages), c.Wait)
	}
	// The worker died: when the lease ends, the same head is claimed again.
	f.clock.Advance(time.Millisecond)
	again := f.claim(request("1", 10))
	if !slices.Equal(ids(again.Messages), ids(first.Messages)) {
		t.Errorf("after lease expiry claimed ids %v, want %v", ids(again.Messages), ids(first.Messages))
	}
}

func testCoalescing(t *testing.T, open Opener) {
	cases := []struct {
		name     string
		limit    int      // room rule limit
		used     int      // slots already taken in the room's window
		bodies   []string // queued in the lane
		maxChars int      // 0 = 65,535
		want     []string
	}{
		{
			name:   "fewer queued than free slots: head alone",
			limit:  10,
			bodies: []string{"a", "b", "c", "d", "e"},
			want:   []string{"a"},
		},
		{
			name:   "as many queued as free slots: head alone",
			limit:  5,
			bodies: []string{"a", "b", "c", "d", "e"},
			want:   []string{"a"},
		},
		{
			name:   "one more queued than free slots: fold all",
			limit:  4,
			bodies: []string{"a", "b", "c", "d", "e"},
			want:   []string{"a", "b", "c", "d", "e"},
		},
		{
			name:   "slots used earlier count",
			limit:  10,
			used:   7,
			bodies: []string{"a", "b", "c", "d"},
			want:   []string{"a", "b", "c", "d"},
		},
		{
			// 10 + (2+10) + (2+10) = 34: a fourth would need 46.
			name:     "fold stops at MaxChars with separators",
			limit:    1,
			bodies:   []string{strings.Repeat("a", 10), strings.Repeat("b", 10), strings.Repeat("c", 10), strings.Repeat("d", 10)},
			maxChars: 34,
			want:     []string{strings.Repeat("a", 10), strings.Repeat("b", 10), strings.Repeat("c", 10)},
		},
		{
			name:     "one unit over MaxChars does not fit",
			limit:    1,
			bodies:   []string{strings.Repeat("a", 10), strings.Repeat("b", 10), strings.Repeat("c", 10)},
			maxChars: 33,
			want:     []string{strings.Repeat("a", 10), strings.Repeat("b", 10)},
		},
		{
			name:     "head over MaxChars is claimed alone",
			limit:    1,
			bodies:   []string{strings.Repeat("a", 50), "b"},
			maxChars: 20,
			want:     []string{strings.Repeat("a", 50)},
		},
		{
			// Each fire is two UTF-16 units: 4 + 2 + 4 = 10, then 16.
			name:     "length counts UTF-16 units",
			limit:    1,
			bodies:   []string{"🔥🔥", "🔥🔥", "🔥🔥"},
			maxChars: 15,
			want:     []string{"🔥🔥", "🔥🔥"},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := setup(t, open)
			req := request("1", c.limit)
			if c.maxChars > 0 {
				req.MaxChars = c.maxChars
			}
			// Use slots in another lane under the same room rule.
			if c.used > 0 {
				for range c.used {
					f.enqueue("other", "x")
				}
				other := req
				other.Lane = lane("other")
				for range c.used {
					m := f.claim(other).Messages
					if len(m) != 1 {
						t.Fatalf("using a slot: claimed %d messages", len(m))
					}
					f.ack(m)
				}
			}
			f.enqueue("1", c.bodies...)
			if got := f.claimBodies(req); !slices.Equal(got, c.want) {
				t.Errorf("claimed %q, want %q", got, c.want)
			}
		})
	}
}

func testLimiterSlotsAndWait(t *testing.T, open Opener) {
	f := setup(t, open)
	f.enqueue("1", "a")
	req := request("1", 1)
	req.Margin = 500 * time.Millisecond
	// The slot taken by a claim counts whether or not the post succeeds.
	f.ack(f.claim(req).Messages)
	f.enqueue("1", "b")
	f.clock.Advance(4 * time.Second)
	c := f.claim(req)
	if len(c.Messages) != 0 || c.Wait != 6500*time.Millisecond {
		t.Fatalf("full room: got %q, wait %s; want none, 6.5s", bodies(c.Messages), c.Wait)
	}
	f.clock.Advance(c.Wait)
	if got := f.claimBodies(req); !slices.Equal(got, []string{"b"}) {
		t.Errorf("after the wait claimed %q, want [b]", got)
	}
	// Every rule must have a slot: a full token rule holds another room.
	f.enqueue("2", "c")
	token := limiter.Rule{Key: "cw/token/t", Limit: 1, Window: time.Minute}
	first := request("3", 10)
	first.Rules = append(first.Rules, token)
	f.enqueue("3", "d")
	f.ack(f.claim(first).Messages)
	second := request("2", 10)
	second.Rules = append(second.Rules, token)
	if c := f.claim(second); len(c.Messages) != 0 || c.Wait != time.Minute {
		t.Errorf("token full: got %q, wait %s; want none, 1m", bodies(c.Messages), c.Wait)
	}
}

func testPause(t *testing.T, open Opener) {
	f := setup(t, open)
	f.enqueue("1", "a")
	req := request("1", 10)
	if err := f.store.Pause(f.ctx, req.Rules[0].Key, start().Add(7*time.Second)); err != nil {
		t.Fatalf("Pause: %v", err)
	}
	if c := f.claim(req); len(c.Messages) != 0 || c.Wait != 7*time.Second {
		t.Errorf("paused: got %q, wait %s; want none, 7s", bodies(c.Messages), c.Wait)
	}
	f.clock.Advance(7 * time.Second)
	if got := f.claimBodies(req); !slices.Equal(got, []string{"a"}) {
		t.Errorf("after the pause claimed %q, want [a]", got)
	}
}

func testRetry(t *testing.T, open Opener) {
	f := setup(t, open)
	f.enqueue("1", "a", "b")
	req := request("1", 10)
	head := f.claim(req).Messages
	if err := f.store.Retry(f.ctx, ids(head), start().Add(time.Minute), true, "http_503", "busy"); err != nil {
		t.Fatalf("Retry: %v", err)
	}
	// The head backs off and "b" must not overtake it.
	f.clock.Advance(20 * time.Second)
	if c := f.claim(req); len(c.Messages) != 0 || c.Wait != 40*time.Second {
		t.Fatalf("backing off: got %q, wait %s; want none, 40s", bodies(c.Messages), c.Wait)
	}
	f.clock.Advance(40 * time.Second)
	again := f.claim(req).Messages
	if len(again) != 1 || again[0].ID != head[0].ID || again[0].Attempts != 1 {
		t.Fatalf("after backoff claimed %+v, want message %d with 1 attempt", again, head[0].ID)
	}
	// A rate-limited retry does not use up an attempt.
	if err := f.store.Retry(f.ctx, ids(again), f.clock.Now(), false, "http_429", ""); err != nil {
		t.Fatalf("Retry: %v", err)
	}
	if got := f.claim(req).Messages; len(got) != 1 || got[0].Attempts != 1 {
		t.Errorf("after a rate-limited retry claimed %+v, want 1 attempt", got)
	}
}
