package dispatcher

import (
	"context"
	"fmt"
	"math"
	"time"

	"go.uber.org/zap"

	"github.com/relayhq/relay/internal/delivery"
	"github.com/relayhq/relay/internal/limiter"
	"github.com/relayhq/relay/internal/outbox"
)

// lane is the state of one lane's worker.
type lane struct {
	key     string
	sender  string // the sender name the lane's messages name
	address string // where in the sender's kind the lane delivers
	// state is the outcome and reason of the last attempt; a failure is
	// logged at warn only when it differs.
	state string
	// storeErrors counts consecutive failed store calls, for backoff.
	storeErrors int
	// limited counts consecutive rate-limited posts, for the backoff of a
	// rate limit that did not say how long (those use up no attempts).
	limited int
	// failing is set while the lane's last attempt failed retryably (the
	// upstream hung, refused or answered 5xx); such lanes share a small
	// part of their sender's and host's slots.
	failing bool
}

// newLane reads a lane key as delivery.Destination.Lane writes it.
func newLane(key string) *lane {
	d := delivery.ParseLane(key)
	return &lane{key: key, sender: d.Sender, address: d.Address}
}

// runLane is one lane's worker: it claims, sends and settles one post at
// a time, sleeps while the lane must wait, and ends when the lane is empty
// or held by another worker, or ctx is done. leave tells whether it may
// end (see Run).
func (d *Dispatcher) runLane(ctx context.Context, key string, leave func(string, <-chan struct{}) bool) {
	l := newLane(key)
	d.metrics.initSender(l.sender)
	for {
		woken := d.wake.wait()
		claimed, wait, err := d.step(ctx, l)
		switch {
		case ctx.Err() != nil:
			leave(key, woken)
			return
		case err != nil:
			l.storeErrors++
			delay := d.backoff(l.storeErrors)
			d.logger.Error("lane stalled by the outbox", zap.String("lane", key),
				zap.Duration("retry_in", delay), zap.Error(err))
			d.sleep(ctx, delay, nil)
		case claimed:
			l.storeErrors = 0
		case wait == 0:
			if leave(key, woken) {
				return
			}
		default:
			// The lane must wait: its head is backing off or a limit is
			// full. Enqueues cannot shorten that (they go behind the
			// head and take no slot), so wakes are not heeded: under a
			// continuous ingest each would cost a claim that finds the
			// same wait. What came meanwhile is folded when it is over.
			l.storeErrors = 0
			d.sleep(ctx, wait, nil)
		}
	}
}

// step claims the lane's next post and, if it got one, delivers it. For
// a Follower the lane's head is planned first, so that the claim takes the
// slots its operation spends: the room's and the token's for a post or a
// task, the token's only for an edit or a task's status, none for a step
// that needs no request.
func (d *Dispatcher) step(ctx context.Context, l *lane) (claimed bool, wait time.Duration, err error) {
	sender, policy, known := d.senders.Lookup(l.sender)
	if !known || sender == nil {
		return false, d.hold(l), nil
	}
	held, ok := d.acquire(ctx, l, policy)
	if !ok {
		return false, 0, nil
	}
	defer held.release()
	f, _ := sender.(Follower)
	if f != nil {
		d.metrics.initFollower(l.sender)
	}
	// A planned head moves only when another replica delivered it
	// meanwhile: plan again, a few times at most.
	for range 3 {
		pl := plan{op: postOp}
		if f != nil {
			var ok bool
			if pl, ok, err = d.planHead(ctx, l, f); err != nil || !ok {
				return false, 0, err
			}
		}
		req := d.claimRequest(l, policy, pl.op)
		req.Head, req.HeadStep = pl.head, pl.step
		c, err := d.store.Claim(ctx, req)
		if err != nil {
			return false, 0, fmt.Errorf("claim: %w", err)
		}
		if c.Moved {
			continue
		}
		if len(c.Messages) == 0 {
			if c.Wait > 0 {
				d.metrics.limiterWait.WithLabelValues(l.sender).Observe(c.Wait.Seconds())
			}
			return false, c.Wait, nil
		}
		var states map[string]string
		if f != nil {
			// The lane is leased: no one else writes its groups' states.
			if states, err = d.store.GroupStates(ctx, l.key, followGroups(c.Messages)); err != nil {
				return false, 0, fmt.Errorf("read group states: %w", err)
			}
		}
		return true, 0, d.deliver(ctx, l, sender, f, policy, pl.op, c, states)
	}
	return false, 0, nil
}

// hold keeps a lane whose messages name a sender the configuration does
// not have (renamed or removed by a reload, or a typo fixed by the next
// one): its messages stay queued, visible in relay_queue_depth and
// relay_queue_oldest_age_seconds, and go out once a reload brings the
// sender back; past the max age they are dead-lettered as expired then.
// It returns how long to wait before looking the sender up again.
func (d *Dispatcher) hold(l *lane) time.Duration {
	const state = "held/unknown_sender"
	if l.state != state {
		d.metrics.held.WithLabelValues(l.sender).Inc()
		d.logger.Warn("lane held: its messages name a sender the configuration does not have; they stay queued until a reload brings it back",
			zap.String("lane", l.key), zap.String("sender", l.sender))
		l.state = state
	}
	return d.opts.PollInterval
}

// claimRequest asks for the lane's next post, for an operation op, under
// the policy's limits: the destination's (paced, see outbox.Claim) and the
// token's for an operation that spends a room slot, the token's only for
// one that does not, none for a step without a request; storm posts are
// allowed where posts fold. A key without a limit still gets a rule that
// never fills, so that a pause after a 429 holds it shut.
func (d *Dispatcher) claimRequest(l *lane, p Policy, op delivery.Op) outbox.ClaimRequest {
	var rules []limiter.Rule
	if p.Scope != "" && op.Room && !op.Skip {
		r := rule(destinationKey(p, l), p.Destination)
		r.Paced = p.Destination.enabled()
		rules = append(rules, r)
	}
	if p.TokenKey != "" && !op.Skip {
		rules = append(rules, rule(p.TokenKey, p.Token))
	}
	return outbox.ClaimRequest{
		Lane:         l.key,
		Rules:        rules,
		Margin:       p.Margin,
		MaxChars:     p.MaxChars,
		SeparatorLen: delivery.Len(p.Separator),
		Lease:        d.opts.Lease,
		Storm:        p.MaxChars > stormHeadingLen,
		HeadingLen:   stormHeadingLen,
		Quiet:        burstQuiet,
	}
}

// burstQuiet is how long a lane receives nothing before its burst counts
// as over: then the lane's post is no longer paced (outbox.Claim).
const burstQuiet = 100 * time.Millisecond

// rule is the limiter rule of key under lim; no limit is a rule that
// never fills.
func rule(key string, lim Limit) limiter.Rule {
	if lim.Count <= 0 || lim.Per <= 0 {
		return limiter.Rule{Key: key, Limit: math.MaxInt32}
	}
	return limiter.Rule{Key: key, Limit: lim.Count, Window: lim.Per}
}

// destinationKey is the limiter key of the lane's destination: the same
// for every sender of the scope ("kind/room/42").
func destinationKey(p Policy, l *lane) string { return p.Scope + "/" + l.address }

func (l Limit) enabled() bool { return l.Count > 0 && l.Per > 0 }

// sleep waits on the clock for wait, ctx or woken (nil: never), whichever
// comes first.
func (d *Dispatcher) sleep(ctx context.Context, wait time.Duration, woken <-chan struct{}) {
	t := d.opts.Clock.NewTimer(wait)
	defer t.Stop()
	select {
	case <-t.C():
	case <-ctx.Done():
	case <-woken:
	}
}
