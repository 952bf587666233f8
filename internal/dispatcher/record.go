package dispatcher

import (
	"context"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/relayhq/relay/internal/delivery"
)

// record runs fn, a store call that records the outcome of a post (ack,
// retry, bury, pause), until it succeeds. A post that was made must not be
// made again because its outcome could not be written (a full disk, a
// restarting database): the lane holds its messages and tries again with
// a short backoff, renewing their lease so that no other worker claims
// them meanwhile. The lane claims nothing else until the outcome is
// recorded, so its order holds.
//
// After ctx is done (a stop), record keeps trying for at most
// SettleTimeout; then the messages stay leased in the store and are posted
// again once the lease expires (at-least-once), and record says so.
func (d *Dispatcher) record(ctx context.Context, l *lane, what string, msgs []delivery.Message, fn func(context.Context) error) error {
	var (
		first     error
		stopped   time.Time
		lastRenew = d.opts.Clock.Now()
		delay     = d.opts.SettleBackoffBase
	)
	for attempt := 1; ; attempt++ {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), d.opts.SettleTimeout)
		err := fn(sctx)
		cancel()
		if err == nil {
			if first != nil {
				d.logger.Info("recorded the outcome of a post after a store fault", zap.String("lane", l.key),
					zap.String("op", what), zap.Int("attempts", attempt))
			}
			return nil
		}
		d.metrics.storeRetries.WithLabelValues(l.sender).Inc()
		if first == nil {
			first = err
			d.logger.Error("cannot record the outcome of a post; retrying", zap.String("lane", l.key),
				zap.String("op", what), zap.Int64("first_id", msgs[0].ID), zap.Int64("last_id", msgs[len(msgs)-1].ID),
				zap.Error(err))
		}
		now := d.opts.Clock.Now()
		if ctx.Err() != nil {
			if stopped.IsZero() {
				stopped = now
			}
			if now.Sub(stopped) >= d.opts.SettleTimeout {
				return fmt.Errorf("%s: gave up at shutdown after %d attempts; the messages are posted again when their lease expires: %w",
					what, attempt, err)
			}
		}
		if now.Sub(lastRenew) >= d.opts.Lease/4 {
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), d.opts.SettleTimeout)
			if rerr := d.store.Renew(rctx, ids(msgs), d.opts.Lease); rerr == nil {
				lastRenew = now
			}
			cancel()
		}
		d.sleep(context.WithoutCancel(ctx), delay, nil)
		delay = min(2*delay, d.opts.SettleBackoffMax)
	}
}
