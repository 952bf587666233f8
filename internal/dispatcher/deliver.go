package dispatcher

import (
	"context"
	"fmt"
	"strings"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/relayhq/relay/internal/delivery"
	"github.com/relayhq/relay/internal/outbox"
)

// Post outcomes, the values of the outcome label.
const (
	outcomeSuccess     = "success"
	outcomeRetryable   = "retryable"
	outcomeRateLimited = "rate_limited"
	outcomePermanent   = "permanent"
	outcomeDead        = "dead_lettered"
	// outcomeFallback is a failure the Follower turns into another
	// operation (an edit of a message that is gone becomes a reply).
	outcomeFallback = "fallback"
)

// deliver buries the expired messages among the claim's, performs op for
// the rest (one upstream request, none for a skipped step) and settles the
// outcome. A storm claim is posted as the messages' one-line forms under a
// heading (stormBody). f is the sender as a Follower, nil for a plain
// sender; states are the group states of the messages for f. The
// messages' lease is renewed while the request is in flight. It returns
// only store errors.
func (d *Dispatcher) deliver(ctx context.Context, l *lane, sender Sender, f Follower, p Policy, op delivery.Op,
	c outbox.Claim, states map[string]string) error {
	msgs := c.Messages
	now := d.opts.Clock.Now()
	var expired, live []delivery.Message
	for _, m := range msgs {
		if now.Sub(m.CreatedAt) > d.opts.MaxAge {
			expired = append(expired, m)
		} else {
			live = append(live, m)
		}
	}
	if len(expired) > 0 {
		answer := fmt.Sprintf("not delivered within %v", d.opts.MaxAge)
		d.logAttempt(l, expired, outcomeDead, &delivery.Error{Reason: "expired", Answer: answer}, 0)
		if err := d.bury(ctx, l, expired, "expired", answer); err != nil {
			return err
		}
	}
	if len(live) == 0 {
		return nil
	}
	if f == nil && live[0].Step > 0 {
		// Its first operation was made by a sender of a kind that follows
		// groups, which a reload replaced: what is left of it, this
		// sender cannot do.
		op = delivery.Op{Kind: op.Kind, Skip: true}
	}
	if op.Skip {
		return d.settleSuccess(ctx, l, p, f, op, live, states, delivery.Receipt{}, 0)
	}
	var body string
	if c.Storm {
		body = stormBody(p, live, c.Behind)
	} else {
		bodies := make([]string, len(live))
		for i, m := range live {
			bodies[i] = m.Body
		}
		body = strings.Join(bodies, p.Separator)
	}

	// The request is not cut short by ctx: a stop lets it finish.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), d.sendTimeout(p))
	stopRenewing := d.renewWhile(ctx, l, live)
	start := d.opts.Clock.Now()
	var (
		rc  delivery.Receipt
		err error
	)
	if f != nil {
		rc, err = f.Perform(sctx, live[0].Dest, op, body)
	} else {
		rc, err = sender.Send(sctx, live[0].Dest, body)
	}
	took := d.opts.Clock.Now().Sub(start)
	stopRenewing()
	cancel()

	d.metrics.upstreamDuration.WithLabelValues(l.sender).Observe(took.Seconds())
	if op.Kind == delivery.OpPost {
		d.metrics.coalesced.WithLabelValues(l.sender).Observe(float64(len(live)))
		if c.Storm && err == nil {
			d.metrics.stormPosts.WithLabelValues(l.sender).Inc()
		}
	}
	if err != nil {
		return d.settleFailure(ctx, l, p, f, op, live, states, delivery.Classify(err), took)
	}
	return d.settleSuccess(ctx, l, p, f, op, live, states, rc, took)
}

// settleSuccess records a delivered operation (the messages done, those
// with a further operation, the group states) and pauses the token when
// its quota is spent.
func (d *Dispatcher) settleSuccess(ctx context.Context, l *lane, p Policy, f Follower, op delivery.Op,
	msgs []delivery.Message, states map[string]string, rc delivery.Receipt, took time.Duration) error {
	if op.Skip {
		d.logger.Debug("delivery step needs no request", zap.String("lane", l.key), zap.String("op", op.Kind),
			zap.Int64("first_id", msgs[0].ID))
	} else {
		d.metrics.posts.WithLabelValues(l.sender, outcomeSuccess).Inc()
		d.metrics.ops.WithLabelValues(l.sender, op.Kind, outcomeSuccess).Inc()
		d.logAttempt(l, msgs, outcomeSuccess, nil, took, zap.String("op", op.Kind), zap.String("upstream_id", rc.MessageID))
		l.limited, l.failing = 0, false
	}
	pr := d.progress(l, f, op, msgs, states, rc)
	if err := d.record(ctx, l, "record delivered messages", msgs, func(sctx context.Context) error {
		if len(pr.Next) == 0 && len(pr.States) == 0 {
			return d.store.Ack(sctx, pr.Acked)
		}
		return d.store.Progress(sctx, pr)
	}); err != nil {
		return err
	}
	d.metrics.sent.WithLabelValues(l.sender).Add(float64(len(pr.Acked)))
	if q := rc.Quota; p.TokenKey != "" && q.Known() && q.Remaining == 0 && q.Reset.After(d.opts.Clock.Now()) {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), d.opts.SettleTimeout)
		defer cancel()
		// Not retried: the next claim waits out the token's limiter log
		// anyway, and a 429 pauses the token again if the quota is spent.
		if err := d.store.Pause(sctx, p.TokenKey, q.Reset); err != nil {
			return fmt.Errorf("pause spent token: %w", err)
		}
	}
	return nil
}

// settleFailure decides what follows a failed operation: planned again
// at once when the Follower has a fallback (an edit of a message that is
// gone), a pause and a retry that uses up no attempt (rate limited), a
// retry with backoff (retryable), or the dead letters (permanent, or out
// of attempts).
func (d *Dispatcher) settleFailure(ctx context.Context, l *lane, p Policy, f Follower, op delivery.Op,
	msgs []delivery.Message, states map[string]string, e *delivery.Error, took time.Duration) error {
	now := d.opts.Clock.Now()
	opLog := zap.String("op", op.Kind)
	if f != nil && len(msgs) == 1 {
		m := msgs[0]
		if next, again := f.Fallback(m, states[m.Group], op, e); again {
			d.metrics.posts.WithLabelValues(l.sender, outcomePermanent).Inc()
			d.metrics.ops.WithLabelValues(l.sender, op.Kind, outcomePermanent).Inc()
			d.logAttempt(l, msgs, outcomeFallback, e, took, opLog)
			if m.Group != "" {
				st := []outbox.GroupState{{Lane: l.key, Group: m.Group, State: next}}
				if err := d.record(ctx, l, "record group state", msgs, func(sctx context.Context) error {
					return d.store.Progress(sctx, outbox.Progress{States: st})
				}); err != nil {
					return err
				}
			}
			return d.retry(ctx, l, msgs, now, false, e)
		}
	}
	switch e.Class {
	case delivery.RateLimited:
		d.metrics.posts.WithLabelValues(l.sender, outcomeRateLimited).Inc()
		d.metrics.ops.WithLabelValues(l.sender, op.Kind, outcomeRateLimited).Inc()
		d.metrics.rateLimited.WithLabelValues(l.sender).Inc()
		d.logAttempt(l, msgs, outcomeRateLimited, e, took, opLog)
		l.limited++
		until := e.Until
		if !until.After(now) {
			until = now.Add(d.backoff(l.limited))
			if p.RateLimitPause > 0 {
				until = now.Add(p.RateLimitPause)
			}
		}
		if key := pauseKey(l, p, e); key != "" {
			if err := d.record(ctx, l, "pause rate-limited key", msgs, func(sctx context.Context) error {
				return d.store.Pause(sctx, key, until)
			}); err != nil {
				return err
			}
		}
		return d.retry(ctx, l, msgs, until, false, e)
	case delivery.Permanent:
		d.metrics.posts.WithLabelValues(l.sender, outcomePermanent).Inc()
		d.metrics.ops.WithLabelValues(l.sender, op.Kind, outcomePermanent).Inc()
		d.logAttempt(l, msgs, outcomePermanent, e, took, opLog)
		return d.bury(ctx, l, msgs, e.Reason, e.Answer)
	}
	d.metrics.posts.WithLabelValues(l.sender, outcomeRetryable).Inc()
	d.metrics.ops.WithLabelValues(l.sender, op.Kind, outcomeRetryable).Inc()
	d.logAttempt(l, msgs, outcomeRetryable, e, took, opLog)
	l.failing = true
	var spent, again []delivery.Message
	for _, m := range msgs {
		if d.opts.MaxAttempts > 0 && m.Attempts+1 >= d.opts.MaxAttempts {
			spent = append(spent, m)
		} else {
			again = append(again, m)
		}
	}
	if len(spent) > 0 {
		d.logAttempt(l, spent, outcomeDead, e, 0, opLog)
		if err := d.bury(ctx, l, spent, e.Reason, e.Answer); err != nil {
			return err
		}
	}
	if len(again) == 0 {
		return nil
	}
	at := now.Add(d.backoff(maxAttempts(again) + 1))
	if e.Until.After(at) {
		at = e.Until // the upstream asked for a longer wait (Retry-After)
	}
	return d.retry(ctx, l, again, at, true, e)
}

// retry releases msgs to be tried again at `at`.
func (d *Dispatcher) retry(ctx context.Context, l *lane, msgs []delivery.Message, at time.Time, countAttempt bool, e *delivery.Error) error {
	if err := d.record(ctx, l, "release messages for retry", msgs, func(sctx context.Context) error {
		return d.store.Retry(sctx, ids(msgs), at, countAttempt, e.Reason, e.Answer)
	}); err != nil {
		return err
	}
	d.metrics.retried.WithLabelValues(l.sender, e.Reason).Add(float64(len(msgs)))
	return nil
}

// bury moves msgs to the dead letters; the caller logs why.
func (d *Dispatcher) bury(ctx context.Context, l *lane, msgs []delivery.Message, reason, answer string) error {
	if err := d.record(ctx, l, "bury messages", msgs, func(sctx context.Context) error {
		return d.store.Bury(sctx, ids(msgs), reason, answer)
	}); err != nil {
		return err
	}
	d.metrics.deadLettered.WithLabelValues(l.sender, reason).Add(float64(len(msgs)))
	return nil
}

// sendTimeout bounds one post: the policy's, else the default. It may
// be longer than the lease, which is renewed while the post is in flight.
func (d *Dispatcher) sendTimeout(p Policy) time.Duration {
	if p.SendTimeout > 0 {
		return p.SendTimeout
	}
	return d.opts.SendTimeout
}

// renewWhile renews the lease of msgs every Lease/3 until the returned
// stop is called, so that a post in flight keeps its messages however long
// it takes, while a replica that dies mid-post lets its lane go within a
// lease. A failed renewal is logged and tried again at the next tick.
func (d *Dispatcher) renewWhile(ctx context.Context, l *lane, msgs []delivery.Message) (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	every := d.opts.Lease / 3
	t := newBackgroundTimer(d.opts.Clock, every)
	go func() {
		defer close(finished)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C():
			}
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), d.opts.SettleTimeout)
			if err := d.store.Renew(rctx, ids(msgs), d.opts.Lease); err != nil {
				d.logger.Warn("cannot renew the lease of a post in flight", zap.String("lane", l.key), zap.Error(err))
			}
			cancel()
			t.Reset(every)
		}
	}()
	return func() {
		close(done)
		<-finished
	}
}

// pauseKey is the limiter key a 429 shuts: the token's when the token's
// quota is spent (or the destination has no limit of its own), else the
// destination's.
func pauseKey(l *lane, p Policy, e *delivery.Error) string {
	if (e.TokenWide || !p.Destination.enabled()) && p.TokenKey != "" {
		return p.TokenKey
	}
	if p.Scope != "" {
		return destinationKey(p, l)
	}
	return ""
}

// logAttempt logs one delivery attempt. A failure is logged at warn only
// when the lane's state changes, so a lane that keeps failing the same way
// does not flood the log; every delivered post is logged at info, a
// recovery as such.
func (d *Dispatcher) logAttempt(l *lane, msgs []delivery.Message, outcome string, e *delivery.Error, took time.Duration, extra ...zap.Field) {
	state, level := outcome, zapcore.DebugLevel
	fields := append([]zap.Field{
		zap.String("lane", l.key),
		zap.String("outcome", outcome),
		zap.Int("messages", len(msgs)),
		zap.Int64("first_id", msgs[0].ID),
		zap.Int64("last_id", msgs[len(msgs)-1].ID),
		zap.String("notification_id", msgs[0].NotificationID),
		zap.Duration("duration", took),
	}, extra...)
	if len(msgs) > 1 && d.logger.Core().Enabled(zapcore.DebugLevel) {
		// A folded post can carry hundreds of messages: the full lists
		// only at debug level.
		fields = append(fields, zap.Int64s("message_ids", ids(msgs)),
			zap.Strings("notification_ids", notificationIDs(msgs)))
	}
	if e != nil {
		state += "/" + e.Reason
		fields = append(fields, zap.String("reason", e.Reason), zap.Int("attempts", maxAttempts(msgs)+1))
		if e.Answer != "" {
			fields = append(fields, zap.String("answer", e.Answer))
		}
		if e.Err != nil {
			fields = append(fields, zap.NamedError("error", e.Err))
		}
		if state != l.state {
			level = zapcore.WarnLevel
		}
	} else {
		// One line per post delivered: at most 10 per 10 s per room.
		level = zapcore.InfoLevel
	}
	msg := "delivery " + outcome
	if outcome == outcomeSuccess && l.state != "" && l.state != outcomeSuccess {
		msg = "delivery recovered"
	}
	l.state = state
	d.logger.Log(level, msg, fields...)
}

func ids(msgs []delivery.Message) []int64 {
	res := make([]int64, len(msgs))
	for i, m := range msgs {
		res[i] = m.ID
	}
	return res
}

// notificationIDs returns the distinct notification ids of msgs, in order.
func notificationIDs(msgs []delivery.Message) []string {
	var res []string
	for i, m := range msgs {
		if i == 0 || m.NotificationID != msgs[i-1].NotificationID {
			res = append(res, m.NotificationID)
		}
	}
	return res
}

func maxAttempts(msgs []delivery.Message) int {
	n := 0
	for _, m := range msgs {
		n = max(n, m.Attempts)
	}
	return n
}
