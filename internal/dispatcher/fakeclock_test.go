package dispatcher

import (
	"slices"
	"sync"
	"testing"
	"time"
)

// FakeClock is a Clock that moves only when a test advances it. It is
// exported for the dispatcher_test package's integration tests.
type FakeClock struct {
	mu    sync.Mutex
	now   time.Time
	armed []*fakeTimer // not yet fired nor stopped
	seq   int          // orders timers armed at the same deadline
}

// NewFakeClock returns a fake clock that reads start until advanced.
func NewFakeClock(start time.Time) *FakeClock { return &FakeClock{now: start} }

// Now implements Clock.
func (c *FakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// NewTimer implements Clock.
func (c *FakeClock) NewTimer(d time.Duration) Timer {
	t := &fakeTimer{clock: c, ch: make(chan time.Time, 1)}
	t.Reset(d)
	return t
}

// NewBackgroundTimer is NewTimer for work beside a post (renewing its
// lease): such timers fire as the others do, but Armed does not count
// them, so that Drive does not take a post in flight for a lane asleep.
func (c *FakeClock) NewBackgroundTimer(d time.Duration) Timer {
	t := &fakeTimer{clock: c, ch: make(chan time.Time, 1), background: true}
	t.Reset(d)
	return t
}

// Background returns how many background timers wait to fire.
func (c *FakeClock) Background() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, t := range c.armed {
		if t.background {
			n++
		}
	}
	return n
}

// Armed returns how many timers wait to fire, background ones aside.
func (c *FakeClock) Armed() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, t := range c.armed {
		if !t.background {
			n++
		}
	}
	return n
}

// AdvanceToNext moves the clock to the earliest deadline of the armed
// timers (not back, if that is past) and fires every timer due then. It
// reports false, leaving the clock as it is, when no timer is armed.
func (c *FakeClock) AdvanceToNext() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.armed) == 0 {
		return false
	}
	next := c.armed[0].at
	for _, t := range c.armed[1:] {
		if t.at.Before(next) {
			next = t.at
		}
	}
	c.advanceLocked(next)
	return true
}

// Advance moves the clock by d and fires every timer due by then, in the
// order of their deadlines.
func (c *FakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.advanceLocked(c.now.Add(d))
}

func (c *FakeClock) advanceLocked(to time.Time) {
	if to.After(c.now) {
		c.now = to
	}
	slices.SortFunc(c.armed, func(a, b *fakeTimer) int {
		if n := a.at.Compare(b.at); n != 0 {
			return n
		}
		return a.seq - b.seq
	})
	i := 0
	for i < len(c.armed) && !c.armed[i].at.After(c.now) {
		select {
		case c.armed[i].ch <- c.now:
		default:
		}
		i++
	}
	c.armed = slices.Delete(c.armed, 0, i)
}

// disarmLocked removes t from the armed timers and reports whether it was
// armed.
func (c *FakeClock) disarmLocked(t *fakeTimer) bool {
	i := slices.Index(c.armed, t)
	if i < 0 {
		return false
	}
	c.armed = slices.Delete(c.armed, i, i+1)
	return true
}

type fakeTimer struct {
	clock      *FakeClock
	ch         chan time.Time
	at         time.Time
	seq        int
	background bool
}

func (t *fakeTimer) C() <-chan time.Time { return t.ch }

func (t *fakeTimer) Stop() bool {
	t.clock.mu.Lock()
	defer t.clock.mu.Unlock()
	t.drain()
	return t.clock.disarmLocked(t)
}

func (t *fakeTimer) Reset(d time.Duration) bool {
	c := t.clock
	c.mu.Lock()
	defer c.mu.Unlock()
	t.drain()
	was := c.disarmLocked(t)
	c.seq++
	t.at, t.seq = c.now.Add(d), c.seq
	c.armed = append(c.armed, t)
	if d <= 0 {
		c.advanceLocked(c.now)
	}
	return was
}

// drain drops a fire not yet received, as *time.Timer's Stop and Reset do.
func (t *fakeTimer) drain() {
	select {
	case <-t.ch:
	default:
	}
}

// AwaitRun waits for the error of a Run whose ctx is cancelled. On a fake
// clock it keeps advancing it meanwhile: after a stop, a lane still
// recording an outcome retries on the clock for SettleTimeout. It fails
// the test if Run has not returned after a generous real timeout.
func AwaitRun(tb testing.TB, clock Clock, done <-chan error) error {
	tb.Helper()
	fake, _ := clock.(*FakeClock)
	deadline := time.After(30 * time.Second)
	for {
		select {
		case err := <-done:
			return err
		case <-deadline:
			tb.Fatal("Run did not return within 30s of its stop")
			return nil
		case <-time.After(time.Millisecond):
			if fake != nil {
				fake.AdvanceToNext()
			}
		}
	}
}

// Drive advances clock until cond holds, failing the test after a
// generous real timeout (a hang, not a speed requirement). It advances
// only when at least sleepers() timers are armed, that is when the
// dispatcher is idle: the supervisor waits on its poll and every lane
// that has work sleeps; then it moves to the earliest deadline. So no
// time passes while a lane claims, posts or settles.
func Drive(tb testing.TB, clock *FakeClock, what string, sleepers func() int, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out waiting for %s (fake clock at %v, %d timers armed, %d wanted)",
				what, clock.Now(), clock.Armed(), sleepers())
		}
		if clock.Armed() >= sleepers() && clock.AdvanceToNext() {
			continue
		}
		time.Sleep(time.Millisecond)
	}
}

func TestFakeClockFiresDueTimersAndStopDropsAFire(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	c := NewFakeClock(t0)
	late, early, stopped := c.NewTimer(2*time.Second), c.NewTimer(time.Second), c.NewTimer(time.Second)
	if !stopped.Stop() || c.Armed() != 2 {
		t.Fatalf("after Stop: %d armed, want 2", c.Armed())
	}
	if !c.AdvanceToNext() || !c.Now().Equal(t0.Add(time.Second)) {
		t.Fatalf("AdvanceToNext moved to %v, want the earliest deadline %v", c.Now(), t0.Add(time.Second))
	}
	select {
	case at := <-early.C():
		if !at.Equal(t0.Add(time.Second)) {
			t.Errorf("fired with %v, want %v", at, t0.Add(time.Second))
		}
	default:
		t.Fatal("the due timer did not fire")
	}
	select {
	case <-late.C():
		t.Fatal("a timer fired before its deadline")
	case <-stopped.C():
		t.Fatal("a stopped timer fired")
	default:
	}
	// A fire not yet received is dropped by Reset, as *time.Timer's is.
	c.Advance(time.Second)
	late.Reset(time.Second)
	select {
	case <-late.C():
		t.Fatal("a reset timer delivered its old fire")
	default:
	}
	if c.Armed() != 1 {
		t.Errorf("%d armed, want the reset timer", c.Armed())
	}
	c.Advance(time.Second)
	if c.AdvanceToNext() {
		t.Error("AdvanceToNext with no timer armed reported true")
	}
}
