// Package limiter keeps the upstreams' post limits exactly: a sliding-window log per
// key (a room, a token) that admits a post only when fewer than Limit posts
// were taken in the last Window (plus a safety margin), and pauses that hold
// a key shut until an upstream-given time.
//
// It is a log, not a token bucket: a bucket of 10 refilled at 1/s lets 19
// posts into one 10 s window, a log never lets in more than Limit.
package limiter

import "time"

// Rule is one limit on one key: at most Limit slots in any Window.
type Rule struct {
	// Key names what is limited, e.g. "kind/room/123" or
	// "kind/token/3f2a9c" (a token fingerprint, never the token).
	Key    string
	Limit  int
	Window time.Duration
	// Paced spreads the rule's slots over its window (see Spacing): the
	// first post of an empty window goes at once, and each further post
	// that is not full waits longer after the latest one, the fewer slots
	// are left.
	Paced bool
}

// Spacing is how long a post that is not full waits after the latest slot
// of a paced rule whose window holds used slots: nothing in an empty
// window, else span/(2*limit) plus span/2^(limit-used+1), growing with
// every slot taken. For 10 posts per 10 s (span 10 s) that is 0.51 s after
// the first post, 0.66 s after the fifth, 3 s after the ninth: a post
// every two seconds or slower is never held back, while a burst waits
// half a second before its second post, long enough to be folded into
// few full posts.
func Spacing(used, limit int, span time.Duration) time.Duration {
	if used <= 0 || limit <= 0 || span <= 0 {
		return 0
	}
	base := span / time.Duration(2*limit)
	shift := limit - used + 1
	if shift >= 62 {
		return base
	}
	if shift < 2 {
		shift = 2 // a full window: Take waits for a slot anyway
	}
	return base + span>>shift
}
