package chatworktest

import "time"

// window is a sliding-window log: the times of the events in the last span.
type window struct {
	span  time.Duration
	times []time.Time
}

// prune forgets events that left the window at now.
func (w *window) prune(now time.Time) {
	cut := 0
	for cut < len(w.times) && !w.times[cut].After(now.Add(-w.span)) {
		cut++
	}
	w.times = w.times[cut:]
}

// count returns the number of events in the window at now.
func (w *window) count(now time.Time) int {
	w.prune(now)
	return len(w.times)
}

// add records an event at now.
func (w *window) add(now time.Time) { w.times = append(w.times, now) }

// reset is when the oldest event leaves the window, or now+span when the
// window is empty.
func (w *window) reset(now time.Time) time.Time {
	w.prune(now)
	if len(w.times) == 0 {
		return now.Add(w.span)
	}
	return w.times[0].Add(w.span)
}

// maxIn returns the largest number of times that fall in any half-open
// interval of length span; times must be sorted.
func maxIn(times []time.Time, span time.Duration) int {
	best, lo := 0, 0
	for hi := range times {
		for times[hi].Sub(times[lo]) >= span {
			lo++
		}
		best = max(best, hi-lo+1)
	}
	return best
}
