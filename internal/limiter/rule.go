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
}
