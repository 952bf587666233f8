package limiter

import (
	"testing"
	"time"
)

func TestSpacingGrowsAsFreeSlotsShrink(t *testing.T) {
	t.Parallel()
	const span = 10 * time.Second
	cases := []struct {
		used int
		want time.Duration
	}{
		{0, 0}, // an empty window: the first post goes at once
		{1, 500*time.Millisecond + span/1024},
		{2, 500*time.Millisecond + span/512},
		{5, 500*time.Millisecond + span/64},
		{8, 500*time.Millisecond + span/8},
		{9, 500*time.Millisecond + span/4},
		{10, 500*time.Millisecond + span/4}, // full: Take waits anyway
	}
	for _, c := range cases {
		if got := Spacing(c.used, 10, span); got != c.want {
			t.Errorf("Spacing(%d, 10, 10s) = %v, want %v", c.used, got, c.want)
		}
	}
	var sum time.Duration
	for used := 1; used < 10; used++ {
		if Spacing(used+1, 10, span) <= Spacing(used, 10, span) && used+1 < 10 {
			t.Errorf("Spacing(%d) = %v is not longer than Spacing(%d) = %v", used+1, Spacing(used+1, 10, span), used, Spacing(used, 10, span))
		}
		sum += Spacing(used, 10, span)
	}
	if sum >= span {
		t.Errorf("the spacings of one window add up to %v, want less than the window %v", sum, span)
	}
	// A big limit: nearly nothing but the base until its last slots.
	if got, want := Spacing(1, 300, 5*time.Minute), 500*time.Millisecond; got != want {
		t.Errorf("Spacing(1, 300, 5m) = %v, want %v", got, want)
	}
	if got := Spacing(3, 0, span); got != 0 {
		t.Errorf("Spacing with no limit = %v, want 0", got)
	}
}

// TestPaceSchedule shows the schedule a paced room of 10 posts per 10 s
// gives a lane whose posts are never full: each post goes when Pace says
// it may, and is taken at once.
func TestPaceSchedule(t *testing.T) {
	t.Parallel()
	rule := Rule{Key: "k/room/1", Limit: 10, Window: 10 * time.Second, Paced: true}
	margin := 250 * time.Millisecond
	span := rule.Window + margin

	t.Run("burst", func(t *testing.T) {
		// Something is always queued: every post goes as soon as pacing
		// and the window let it.
		l := NewLog()
		now := t0
		var at []time.Duration
		for len(at) < 12 {
			wait, busy := l.Pace(now, margin, []Rule{rule})
			if len(at) == 0 && busy {
				t.Fatal("a new log is busy")
			}
			now = now.Add(wait)
			if w, ok := l.Take(now, margin, []Rule{rule}); !ok {
				now = now.Add(w)
				continue
			}
			at = append(at, now.Sub(t0))
		}
		want := []time.Duration{0}
		for used := 1; used < 10; used++ {
			want = append(want, want[used-1]+Spacing(used, 10, span))
		}
		// The 11th waits for the first slot to leave the window (at the
		// span), and then, nine slots still taken, for the spacing of
		// nine after the 10th: a lane that is never full posts less often
		// the busier its window, folding more into each post.
		want = append(want, max(span, want[9]+Spacing(9, 10, span)))
		for i := range want {
			if at[i] != want[i] {
				t.Errorf("post %d at %v, want %v (all: %v)", i+1, at[i], want[i], at)
			}
		}
		t.Logf("burst schedule: %v", at)
		if maxInWindow(offsets(at), rule.Window) > 10 {
			t.Errorf("more than 10 posts in one window: %v", at)
		}
	})

	t.Run("trickle", func(t *testing.T) {
		// One post every 2 s: the window never holds more than five, and
		// no post waits.
		l := NewLog()
		for i := range 20 {
			now := t0.Add(time.Duration(i) * 2 * time.Second)
			if wait, _ := l.Pace(now, margin, []Rule{rule}); wait != 0 {
				t.Fatalf("post %d at %v: paced %v, want none", i+1, now.Sub(t0), wait)
			}
			if _, ok := l.Take(now, margin, []Rule{rule}); !ok {
				t.Fatalf("post %d refused", i+1)
			}
		}
	})

	t.Run("mix", func(t *testing.T) {
		// A post 3 s ago leaves the window busy: the next waits its
		// spacing after it, which has passed, so it goes at once; one
		// right after it waits.
		l := NewLog()
		l.Take(t0, margin, []Rule{rule})
		now := t0.Add(3 * time.Second)
		if wait, busy := l.Pace(now, margin, []Rule{rule}); wait != 0 || !busy {
			t.Fatalf("3 s after one post: wait %v busy %v, want 0 and busy", wait, busy)
		}
		l.Take(now, margin, []Rule{rule})
		if wait, _ := l.Pace(now.Add(100*time.Millisecond), margin, []Rule{rule}); wait != Spacing(2, 10, span)-100*time.Millisecond {
			t.Errorf("100 ms after the second post: wait %v, want %v", wait, Spacing(2, 10, span)-100*time.Millisecond)
		}
		// Unpaced rules never pace.
		if wait, busy := l.Pace(now, margin, []Rule{{Key: rule.Key, Limit: 10, Window: rule.Window}}); wait != 0 || busy {
			t.Errorf("unpaced rule: wait %v busy %v, want 0, false", wait, busy)
		}
		// Once the window is empty again the next post is a first post.
		if wait, busy := l.Pace(now.Add(span), margin, []Rule{rule}); wait != 0 || busy {
			t.Errorf("after the window: wait %v busy %v, want 0, false", wait, busy)
		}
	})
}

func offsets(ds []time.Duration) []time.Time {
	out := make([]time.Time, len(ds))
	for i, d := range ds {
		out[i] = t0.Add(d)
	}
	return out
}
