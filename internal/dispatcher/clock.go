package dispatcher

import "time"

// Clock is where the dispatcher reads the time and waits: the lanes'
// backoffs and limiter waits, the settle retries, message ages and the
// supervisor's poll. Options.Clock defaults to the real clock; tests pass
// a fake one that they advance, so that no test waits out a real window.
type Clock interface {
	Now() time.Time
	// NewTimer returns a timer that sends the time on its channel once,
	// after d.
	NewTimer(d time.Duration) Timer
}

// Timer is a one-shot timer of a Clock, as *time.Timer: after Stop or
// Reset returns, no stale time is received from C.
type Timer interface {
	C() <-chan time.Time
	Stop() bool
	Reset(d time.Duration) bool
}

// realClock is the system clock.
type realClock struct{}

func (realClock) Now() time.Time                 { return time.Now() }
func (realClock) NewTimer(d time.Duration) Timer { return realTimer{time.NewTimer(d)} }

type realTimer struct{ t *time.Timer }

func (r realTimer) C() <-chan time.Time        { return r.t.C }
func (r realTimer) Stop() bool                 { return r.t.Stop() }
func (r realTimer) Reset(d time.Duration) bool { return r.t.Reset(d) }

// backgroundClock is a Clock that tells apart the timers of work that runs
// beside a post (renewing its lease) from the waits of lanes and the
// supervisor: a test that advances a fake clock whenever every lane waits
// must not take a post in flight for a lane asleep.
type backgroundClock interface {
	NewBackgroundTimer(d time.Duration) Timer
}

// newBackgroundTimer returns a timer of c for work beside a post.
func newBackgroundTimer(c Clock, d time.Duration) Timer {
	if b, ok := c.(backgroundClock); ok {
		return b.NewBackgroundTimer(d)
	}
	return c.NewTimer(d)
}
