package postgres

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/relayhq/relay/internal/outbox"
)

// maxFold bounds the rows one claim reads when folding: enough to tell
// whether a backlog outgrows a window of 10 full-size posts.
const maxFold = 2000

// Claim leases the next post of a lane, as outbox.Claim describes, in one
// transaction: it locks the lane (so replicas claim it one at a time) and
// returns nothing while any message of the lane is leased; a Wait while
// the head is backing off, the limiter has no slot, or pacing holds back a
// post that is not full; else one slot in every rule and the post
// PlanPost planned.
func (s *Store) Claim(ctx context.Context, req outbox.ClaimRequest) (outbox.Claim, error) {
	var c outbox.Claim
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var err error
		c, err = s.claim(ctx, tx, req)
		return err
	})
	if err != nil {
		return outbox.Claim{}, fmt.Errorf("claim lane %s: %w", req.Lane, err)
	}
	return c, nil
}

func (s *Store) claim(ctx context.Context, tx pgx.Tx, req outbox.ClaimRequest) (outbox.Claim, error) {
	if err := s.lockAll(ctx, tx, "lane", []string{req.Lane}); err != nil {
		return outbox.Claim{}, err
	}
	// Read the clock after the lock: slots taken by the claim we waited
	// for must not lie in our future.
	now, err := s.clock(ctx, tx)
	if err != nil {
		return outbox.Claim{}, err
	}
	var (
		held             bool
		head             *int64
		headID, headStep *int64
	)
	if err := tx.QueryRow(ctx, sqlLaneState, req.Lane, now).Scan(&held, &head, &headID, &headStep); err != nil {
		return outbox.Claim{}, fmt.Errorf("read lane: %w", err)
	}
	if held {
		return outbox.Claim{}, nil
	}
	if head == nil {
		return outbox.Claim{Moved: req.Head != 0}, nil
	}
	if req.Head != 0 && (*headID != req.Head || *headStep != int64(req.HeadStep)) {
		return outbox.Claim{Moved: true}, nil
	}
	if *head > now {
		return outbox.Claim{Wait: time.Duration(*head-now) * time.Millisecond}, nil
	}
	lim, err := s.readLimits(ctx, tx, now, req)
	if err != nil {
		return outbox.Claim{}, err
	}
	if lim.free == 0 {
		return outbox.Claim{Wait: max(lim.wait, time.Millisecond)}, nil
	}
	fold := lim.busy
	if !fold {
		if fold, err = moreQueued(ctx, tx, req.Lane, lim.free); err != nil {
			return outbox.Claim{}, err
		}
	}
	var since time.Duration // since the lane's newest message, in a busy window
	if lim.busy {
		var newest int64
		if err := tx.QueryRow(ctx, sqlLaneNewest, req.Lane).Scan(&newest); err != nil {
			return outbox.Claim{}, fmt.Errorf("read lane tail: %w", err)
		}
		since = time.Duration(lim.now-newest) * time.Millisecond
	}
	post, err := pick(ctx, tx, req, lim.now, lim.free, fold, lim.busy && outbox.Arriving(req, since))
	if err != nil {
		return outbox.Claim{}, err
	}
	if !post.Full {
		if wait := outbox.PaceWait(req, lim.pace, since); wait > 0 {
			return outbox.Claim{Wait: wait}, nil
		}
	}
	if err := takeSlot(ctx, tx, lim); err != nil {
		return outbox.Claim{}, err
	}
	ids := make([]int64, len(post.Messages))
	for i, m := range post.Messages {
		ids[i] = m.ID
	}
	if _, err := tx.Exec(ctx, `UPDATE messages SET claimed_until = $1 WHERE id = ANY($2)`,
		lim.now+durationMillis(req.Lease), ids); err != nil {
		return outbox.Claim{}, fmt.Errorf("lease messages: %w", err)
	}
	c := outbox.Claim{Messages: post.Messages, Storm: post.Storm}
	if post.Storm {
		var queued int64
		if err := tx.QueryRow(ctx, sqlLaneCount, req.Lane).Scan(&queued); err != nil {
			return outbox.Claim{}, fmt.Errorf("count lane: %w", err)
		}
		c.Behind = int(queued) - len(ids)
	}
	return c, nil
}

// The claim's questions about a lane, each answered from the
// messages_lane_* indexes without reading the whole lane: the dispatcher
// claims after every Enqueue, so a question that read the lane made ingest
// into a long queue quadratic.
//
// Each is written so that its cheap plan is the only plausible one, also
// as the generic plan PostgreSQL switches a cached statement to, which
// guesses every lane holds an equal share of the queue and would
// otherwise walk the primary key (or the table) past a long lane to reach
// a short lane queued after it. MAX(claimed_until) is one step back along
// messages_lane_claimed ("claimed_until > $2" invited a scan hoping for an
// early match). "lane >= $1 AND lane <= $1" is lane = $1 that the planner
// cannot fold into a constant, so ORDER BY lane, id is an order only
// messages_lane_id gives without a sort. TestLaneQueriesSeek checks both
// kinds of plan.
const (
	// sqlLaneState reads whether the lane holds an unexpired lease, and
	// when its head is available, its id and its step, NULL for an empty
	// lane (lane, now).
	sqlLaneState = `SELECT
		COALESCE((SELECT max(claimed_until) FROM messages WHERE lane = $1) > $2, false),
		h.available_at, h.id, h.step
		FROM (SELECT 1) AS one LEFT JOIN LATERAL
			(SELECT available_at, id, step FROM messages WHERE lane >= $1 AND lane <= $1 ORDER BY lane, id LIMIT 1) AS h ON true`
	// sqlLaneCountUpTo counts the lane's messages, stopping at a limit
	// (lane, limit).
	sqlLaneCountUpTo = `SELECT COUNT(*) FROM (SELECT FROM messages WHERE lane >= $1 AND lane <= $1 ORDER BY lane, id LIMIT $2) AS upto`
	// sqlLaneNewest reads when the lane's newest message was received
	// (lane).
	sqlLaneNewest = `SELECT created_at FROM messages WHERE lane >= $1 AND lane <= $1 ORDER BY lane DESC, id DESC LIMIT 1`
	// sqlLaneCount counts the lane's messages (lane).
	sqlLaneCount = `SELECT COUNT(*) FROM messages WHERE lane >= $1 AND lane <= $1`
	// sqlLaneFirst reads the lane's first messages (lane, limit).
	sqlLaneFirst = `SELECT ` + messageColumns + `, available_at FROM messages
		WHERE lane >= $1 AND lane <= $1 ORDER BY lane, id LIMIT $2`
)

// moreQueued reports whether the lane holds more messages than free, the
// limiter's free slots: then the claim folds. It counts no further than
// free+1.
func moreQueued(ctx context.Context, tx pgx.Tx, lane string, free int) (bool, error) {
	if free == math.MaxInt { // no rules: nothing to save slots for
		return false, nil
	}
	var queued int64
	if err := tx.QueryRow(ctx, sqlLaneCountUpTo, lane, int64(free)+1).Scan(&queued); err != nil {
		return false, fmt.Errorf("count lane: %w", err)
	}
	return queued > int64(free), nil
}

// pick reads the head of the lane and, if fold, up to maxFold messages
// behind it, and plans the lane's next post (outbox.PlanPost).
func pick(ctx context.Context, tx pgx.Tx, req outbox.ClaimRequest, now int64, free int, fold, burst bool) (outbox.Post, error) {
	limit := 1
	if fold {
		limit = maxFold
	}
	rows, err := tx.Query(ctx, sqlLaneFirst, req.Lane, limit)
	if err != nil {
		return outbox.Post{}, fmt.Errorf("read lane: %w", err)
	}
	defer rows.Close()
	post, err := outbox.PlanPost(req, free, fold, burst, func() (outbox.Candidate, bool, error) {
		if !rows.Next() {
			return outbox.Candidate{}, false, rows.Err()
		}
		var available int64
		m, err := scanMessage(rows, &available)
		return outbox.Candidate{Message: m, Due: available <= now}, err == nil, err
	})
	if err != nil {
		return outbox.Post{}, fmt.Errorf("read lane: %w", err)
	}
	if len(post.Messages) == 0 {
		return outbox.Post{}, errors.New("read lane: head vanished")
	}
	return post, nil
}
