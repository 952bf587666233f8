package postgres

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/relayhq/relay/internal/delivery"
	"github.com/relayhq/relay/internal/outbox"
)

// maxFold bounds the rows one claim reads when folding.
const maxFold = 1000

// Claim leases the next post of a lane, as outbox.Claim describes, in one
// transaction: it locks the lane (so replicas claim it one at a time) and
// returns nothing while any message of the lane is leased; a Wait while
// the head is backing off or the limiter has no slot; else one slot in
// every rule and the head, folded with the messages behind it when more
// are queued than the rules have slots free.
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
	now, free, wait, err := s.takeSlot(ctx, tx, now, req)
	if err != nil {
		return outbox.Claim{}, err
	}
	if wait > 0 {
		return outbox.Claim{Wait: wait}, nil
	}
	fold, err := moreQueued(ctx, tx, req.Lane, free)
	if err != nil {
		return outbox.Claim{}, err
	}
	msgs, err := pick(ctx, tx, req, now, fold)
	if err != nil {
		return outbox.Claim{}, err
	}
	ids := make([]int64, len(msgs))
	for i, m := range msgs {
		ids[i] = m.ID
	}
	if _, err := tx.Exec(ctx, `UPDATE messages SET claimed_until = $1 WHERE id = ANY($2)`,
		now+durationMillis(req.Lease), ids); err != nil {
		return outbox.Claim{}, fmt.Errorf("lease messages: %w", err)
	}
	return outbox.Claim{Messages: msgs}, nil
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

// pick reads the head of the lane and, if fold, the available messages
// behind it that fit in req.MaxChars with separators.
func pick(ctx context.Context, tx pgx.Tx, req outbox.ClaimRequest, now int64, fold bool) ([]delivery.Message, error) {
	limit := 1
	if fold {
		limit = maxFold
	}
	rows, err := tx.Query(ctx, sqlLaneFirst, req.Lane, limit)
	if err != nil {
		return nil, fmt.Errorf("read lane: %w", err)
	}
	defer rows.Close()
	var msgs []delivery.Message
	folder := outbox.NewFolder(req)
	for rows.Next() {
		var available int64
		m, err := scanMessage(rows, &available)
		if err != nil {
			return nil, fmt.Errorf("read lane: %w", err)
		}
		if !folder.Add(delivery.Len(m.Body), available <= now, outbox.Alone(m)) {
			break
		}
		msgs = append(msgs, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read lane: %w", err)
	}
	if len(msgs) == 0 {
		return nil, errors.New("read lane: head vanished")
	}
	return msgs, nil
}
