package dispatcher

import "time"

// backoff returns the delay before retry number attempt (1 for the first):
// a random duration up to BackoffBase * 2^(attempt-1), capped at
// BackoffMax ("full jitter", so that lanes failing together spread out).
func (d *Dispatcher) backoff(attempt int) time.Duration {
	ceiling := d.opts.BackoffBase
	for i := 1; i < attempt && ceiling < d.opts.BackoffMax; i++ {
		ceiling *= 2
	}
	ceiling = min(ceiling, d.opts.BackoffMax)
	return time.Duration(d.opts.Rand() * float64(ceiling))
}
