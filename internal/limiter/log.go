package limiter

import (
	"math"
	"slices"
	"sync"
	"time"
)

// Log is an in-memory sliding-window log: for every key it remembers the
// times slots were taken, and a pause. It is safe for concurrent use.
//
// Memory stays bounded: a key keeps at most as many times as the largest
// Limit it was taken under, older ones are dropped as they leave the window.
type Log struct {
	mu     sync.Mutex
	taken  map[string][]time.Time // per key, oldest first
	paused map[string]time.Time
}

// NewLog returns an empty log.
func NewLog() *Log {
	return &Log{taken: map[string][]time.Time{}, paused: map[string]time.Time{}}
}

// Take takes one slot under every rule at now if each has one free (fewer
// than Limit slots taken in (now - Window - margin, now]) and no rule's key
// is paused, and returns (0, true). Otherwise it takes nothing and returns
// how long until all rules could be free: the latest, over the rules, of
// the earliest slot expiry that frees one, or the pause end.
//
// A rule with Limit <= 0 never has a free slot; its wait is its window.
func (l *Log) Take(now time.Time, margin time.Duration, rules []Rule) (wait time.Duration, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, r := range rules {
		if w := l.waitLocked(now, margin, r); w > wait {
			wait = w
		}
	}
	if wait > 0 {
		return wait, false
	}
	for i, r := range rules {
		if seenKey(rules[:i], r.Key) {
			continue // one post takes one slot per key
		}
		l.taken[r.Key] = insertSorted(l.taken[r.Key], now)
	}
	return 0, true
}

// Free returns the least number of free slots over the rules at now; 0 when
// any rule's key is paused. With no rules it returns math.MaxInt.
func (l *Log) Free(now time.Time, margin time.Duration, rules []Rule) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	free := math.MaxInt
	for _, r := range rules {
		if l.pausedLocked(r.Key, now) {
			return 0
		}
		n := r.Limit - len(l.pruneLocked(r.Key, cutoff(now, margin, r)))
		free = min(free, max(n, 0))
	}
	return free
}

// Pace returns, for a post that is not full, how long it must still wait
// at now under the paced rules: for each paced rule whose window holds
// slots, Spacing after its latest slot (the longest over the rules; 0 once
// that has passed). busy reports whether any paced rule's window holds a
// slot: the window is no longer idle, so the post should fold what is
// queued.
func (l *Log) Pace(now time.Time, margin time.Duration, rules []Rule) (wait time.Duration, busy bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, r := range rules {
		if !r.Paced || r.Limit <= 0 {
			continue
		}
		times := l.pruneLocked(r.Key, cutoff(now, margin, r))
		if len(times) == 0 {
			continue
		}
		busy = true
		due := times[len(times)-1].Add(Spacing(len(times), r.Limit, r.Window+margin))
		wait = max(wait, due.Sub(now))
	}
	return wait, busy
}

// Restore records a slot of key taken at `at` without checking any limit:
// a store that keeps the log on disk replays it after a restart.
func (l *Log) Restore(key string, at time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.taken[key] = insertSorted(l.taken[key], at)
}

// Pause holds key shut until `until`. A later pause wins over an earlier
// one; an earlier one never shortens a pause in force.
func (l *Log) Pause(key string, until time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if until.After(l.paused[key]) {
		l.paused[key] = until
	}
}

// waitLocked returns how long until rule r has a free slot at now (0 if it
// has one now), pruning times that left the window on the way.
func (l *Log) waitLocked(now time.Time, margin time.Duration, r Rule) time.Duration {
	var wait time.Duration
	if until, ok := l.paused[r.Key]; ok {
		if until.After(now) {
			wait = until.Sub(now)
		} else {
			delete(l.paused, r.Key)
		}
	}
	if r.Limit <= 0 {
		return max(wait, r.Window+margin)
	}
	times := l.pruneLocked(r.Key, cutoff(now, margin, r))
	if over := len(times) - r.Limit; over >= 0 {
		// The (over+1)-th oldest time must leave the window: it does so
		// at t + Window + margin, when it is no longer after the cutoff.
		wait = max(wait, times[over].Add(r.Window+margin).Sub(now))
	}
	return wait
}

func (l *Log) pausedLocked(key string, now time.Time) bool {
	until, ok := l.paused[key]
	if ok && !until.After(now) {
		delete(l.paused, key)
		return false
	}
	return ok
}

// pruneLocked drops the times of key at or before cut and returns the rest.
// Times after now (a clock that stepped back) are kept: they still count.
func (l *Log) pruneLocked(key string, cut time.Time) []time.Time {
	times := l.taken[key]
	i := 0
	for i < len(times) && !times[i].After(cut) {
		i++
	}
	switch {
	case i == len(times):
		delete(l.taken, key)
		return nil
	case i > 0:
		// Copy down rather than reslice so the backing array does not
		// grow without bound as slots are appended and dropped.
		times = append(times[:0], times[i:]...)
		l.taken[key] = times
	}
	return times
}

// cutoff is the start (exclusive) of rule r's window at now.
func cutoff(now time.Time, margin time.Duration, r Rule) time.Time {
	return now.Add(-r.Window - margin)
}

// insertSorted adds t to times, kept oldest first even when the clock
// stepped back.
func insertSorted(times []time.Time, t time.Time) []time.Time {
	i := len(times)
	for i > 0 && times[i-1].After(t) {
		i--
	}
	return slices.Insert(times, i, t)
}

func seenKey(rules []Rule, key string) bool {
	for _, r := range rules {
		if r.Key == key {
			return true
		}
	}
	return false
}
