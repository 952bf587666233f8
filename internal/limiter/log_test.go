package limiter

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func room(limit int, window time.Duration) Rule {
	return Rule{Key: "chatwork/room/1", Limit: limit, Window: window}
}

// admitted returns the times at which Take said yes, trying at each of at.
func admitted(l *Log, margin time.Duration, rules []Rule, at []time.Time) []time.Time {
	var got []time.Time
	for _, now := range at {
		if _, ok := l.Take(now, margin, rules); ok {
			got = append(got, now)
		}
	}
	return got
}

// maxInWindow returns the most admitted times in any half-open window
// [t, t+window); the busiest such window starts at an admitted time.
func maxInWindow(times []time.Time, window time.Duration) int {
	most := 0
	for i, start := range times {
		n := 0
		for _, t := range times[i:] {
			if t.Before(start.Add(window)) {
				n++
			}
		}
		most = max(most, n)
	}
	return most
}

func TestTakeNeverAdmitsMoreThanLimitInAnyWindow(t *testing.T) {
	t.Parallel()
	every := func(start time.Time, n int, step time.Duration) []time.Time {
		var at []time.Time
		for i := range n {
			at = append(at, start.Add(time.Duration(i)*step))
		}
		return at
	}
	cases := []struct {
		name   string
		rule   Rule
		margin time.Duration
		at     []time.Time
		want   int // admitted in total
	}{
		{
			// A token bucket of 10 refilled at 1/s admits the burst of 10
			// and then one a second: 19 posts in 10 s. The log admits the
			// burst and nothing more until the first slot leaves the window.
			name: "token bucket's burst of 10 then 1/s",
			rule: room(10, 10*time.Second),
			at:   append(every(t0, 10, 0), every(t0.Add(time.Second), 9, time.Second)...),
			want: 10,
		},
		{
			name: "steady 1/s for 30 s under 10 per 10 s",
			rule: room(10, 10*time.Second),
			at:   every(t0, 30, time.Second),
			want: 30,
		},
		{
			name: "every 100 ms for 25 s",
			rule: room(10, 10*time.Second),
			at:   every(t0, 250, 100*time.Millisecond),
			want: 30, // ten from each of 0 s, 10 s and 20 s
		},
		{
			name:   "margin delays the next window",
			rule:   room(10, 10*time.Second),
			margin: 500 * time.Millisecond,
			at:     every(t0, 250, 100*time.Millisecond),
			want:   30, // ten from each of 0 s, 10.5 s and 21 s
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			got := admitted(NewLog(), c.margin, []Rule{c.rule}, c.at)
			if len(got) != c.want {
				t.Errorf("admitted %d, want %d", len(got), c.want)
			}
			if n := maxInWindow(got, c.rule.Window+c.margin); n > c.rule.Limit {
				t.Errorf("%d posts in one window of %s, limit %d", n, c.rule.Window+c.margin, c.rule.Limit)
			}
		})
	}
}

func TestTakeRandomSequencesStayWithinLimit(t *testing.T) {
	t.Parallel()
	for seed := range uint64(200) {
		rng := rand.New(rand.NewPCG(seed, 1))
		rule := room(1+rng.IntN(12), time.Duration(1+rng.IntN(20))*time.Second)
		margin := time.Duration(rng.IntN(1000)) * time.Millisecond
		var at []time.Time
		now := t0
		for range 500 {
			// Bursts (0 gaps) and pauses, at millisecond resolution.
			if rng.IntN(3) > 0 {
				now = now.Add(time.Duration(rng.IntN(3000)) * time.Millisecond)
			}
			at = append(at, now)
		}
		l := NewLog()
		got := admitted(l, margin, []Rule{rule}, at)
		if n := maxInWindow(got, rule.Window+margin); n > rule.Limit {
			t.Fatalf("seed %d: %d posts in one window of %s, limit %d", seed, n, rule.Window+margin, rule.Limit)
		}
		if n := len(l.taken[rule.Key]); n > rule.Limit {
			t.Fatalf("seed %d: log holds %d times, want at most %d", seed, n, rule.Limit)
		}
	}
}

func TestTakeWaitAndFree(t *testing.T) {
	t.Parallel()
	rules := []Rule{
		{Key: "room", Limit: 3, Window: 10 * time.Second},
		{Key: "token", Limit: 5, Window: time.Minute},
	}
	l := NewLog()
	if got := l.Free(t0, 0, rules); got != 3 {
		t.Fatalf("Free on an empty log = %d, want 3", got)
	}
	for i := range 3 {
		if _, ok := l.Take(t0.Add(time.Duration(i)*time.Second), 0, rules); !ok {
			t.Fatalf("take %d refused", i)
		}
	}
	now := t0.Add(5 * time.Second)
	steps := []struct {
		name     string
		now      time.Time
		wantFree int
		wantWait time.Duration
	}{
		// Room full: its oldest slot (t0) leaves at t0+10s.
		{"room full", now, 0, 5 * time.Second},
		// Exactly at expiry the oldest slot is out of (now-10s, now].
		{"oldest room slot expired", t0.Add(10 * time.Second), 1, 0},
	}
	for _, s := range steps {
		if got := l.Free(s.now, 0, rules); got != s.wantFree {
			t.Errorf("%s: Free = %d, want %d", s.name, got, s.wantFree)
		}
		wait, ok := l.Take(s.now, 0, rules)
		if wait != s.wantWait || ok != (s.wantWait == 0) {
			t.Errorf("%s: Take = (%s, %v), want (%s, %v)", s.name, wait, ok, s.wantWait, s.wantWait == 0)
		}
	}
	// Four token slots are used; one more fills the token rule, whose
	// oldest slot (t0) then holds everything up until t0+1m.
	now = t0.Add(30 * time.Second)
	if _, ok := l.Take(now, 0, rules); !ok {
		t.Fatal("fifth token slot refused")
	}
	if got := l.Free(now, 0, rules); got != 0 {
		t.Errorf("Free with the token full = %d, want 0", got)
	}
	if wait, _ := l.Take(now, 0, rules); wait != 30*time.Second {
		t.Errorf("wait on a full token = %s, want 30s", wait)
	}
}

func TestTakeMarginWidensWindow(t *testing.T) {
	t.Parallel()
	rule := []Rule{room(1, 10*time.Second)}
	l := NewLog()
	l.Take(t0, time.Second, rule)
	if wait, ok := l.Take(t0.Add(10*time.Second), time.Second, rule); ok || wait != time.Second {
		t.Errorf("Take at window end with 1s margin = (%s, %v), want (1s, false)", wait, ok)
	}
	if _, ok := l.Take(t0.Add(11*time.Second), time.Second, rule); !ok {
		t.Error("Take after window and margin refused")
	}
}

func TestTakeRefusalTakesNothing(t *testing.T) {
	t.Parallel()
	room := Rule{Key: "room", Limit: 5, Window: 10 * time.Second}
	token := Rule{Key: "token", Limit: 1, Window: 10 * time.Second}
	l := NewLog()
	l.Take(t0, 0, []Rule{token})
	for range 3 {
		if _, ok := l.Take(t0, 0, []Rule{room, token}); ok {
			t.Fatal("Take admitted with the token rule full")
		}
	}
	if got := l.Free(t0, 0, []Rule{room}); got != 5 {
		t.Errorf("room Free after refusals = %d, want 5 (a refusal takes no slot)", got)
	}
}

func TestPause(t *testing.T) {
	t.Parallel()
	rules := []Rule{room(10, 10*time.Second)}
	cases := []struct {
		name     string
		pauses   []time.Duration // from t0, in order
		at       time.Duration
		wantWait time.Duration
	}{
		{"paused", []time.Duration{5 * time.Second}, 0, 5 * time.Second},
		{"pause over", []time.Duration{5 * time.Second}, 5 * time.Second, 0},
		{"later pause wins", []time.Duration{5 * time.Second, 8 * time.Second}, time.Second, 7 * time.Second},
		{"earlier pause does not shorten", []time.Duration{8 * time.Second, 2 * time.Second}, 3 * time.Second, 5 * time.Second},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			l := NewLog()
			for _, p := range c.pauses {
				l.Pause(rules[0].Key, t0.Add(p))
			}
			now := t0.Add(c.at)
			wantFree := 10
			if c.wantWait > 0 {
				wantFree = 0
			}
			if got := l.Free(now, 0, rules); got != wantFree {
				t.Errorf("Free = %d, want %d", got, wantFree)
			}
			if wait, ok := l.Take(now, 0, rules); wait != c.wantWait || ok != (c.wantWait == 0) {
				t.Errorf("Take = (%s, %v), want (%s, %v)", wait, ok, c.wantWait, c.wantWait == 0)
			}
		})
	}
}

func TestPauseAndFullWindowWaitForTheLater(t *testing.T) {
	t.Parallel()
	rules := []Rule{room(1, 10*time.Second)}
	l := NewLog()
	l.Take(t0, 0, rules)
	l.Pause(rules[0].Key, t0.Add(3*time.Second))
	if wait, _ := l.Take(t0.Add(time.Second), 0, rules); wait != 9*time.Second {
		t.Errorf("wait = %s, want 9s (the slot frees after the pause ends)", wait)
	}
}

func TestLogForgetsIdleKeys(t *testing.T) {
	t.Parallel()
	l := NewLog()
	for i := range 100 {
		r := Rule{Key: fmt.Sprint("room/", i), Limit: 10, Window: time.Second}
		l.Take(t0, 0, []Rule{r})
		l.Free(t0.Add(2*time.Second), 0, []Rule{r})
	}
	if n := len(l.taken); n != 0 {
		t.Errorf("log keeps %d expired keys, want 0", n)
	}
}

func BenchmarkTake(b *testing.B) {
	rules := []Rule{
		{Key: "chatwork/room/1", Limit: 10, Window: 10 * time.Second},
		{Key: "chatwork/token/abc", Limit: 300, Window: 5 * time.Minute},
	}
	l := NewLog()
	now := t0
	for b.Loop() {
		now = now.Add(time.Second)
		l.Take(now, 100*time.Millisecond, rules)
	}
}
