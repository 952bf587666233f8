package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/relayhq/relay/internal/outbox"
)

// Claim leases the next post of a lane, as outbox.Claim describes: nothing
// while another lease on the lane is unexpired; a Wait while the head is
// backing off, the limiter has no slot, or pacing holds back a post that
// is not full; else one slot in every rule and the post PlanPost planned.
func (s *Store) Claim(ctx context.Context, req outbox.ClaimRequest) (outbox.Claim, error) {
	// The limiter is in memory: one claim at a time keeps "take a slot"
	// and "lease the messages" together.
	s.claimMu.Lock()
	defer s.claimMu.Unlock()
	var c outbox.Claim
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		c, err = s.claim(ctx, tx, req)
		return err
	})
	if err != nil {
		return outbox.Claim{}, s.fail(fmt.Errorf("claim lane %s: %w", req.Lane, err))
	}
	return c, nil
}

// The claim's questions about a lane, each answered from the
// messages_lane_* indexes without reading the whole lane.
const (
	// sqlLeaseHeld counts the lane's unexpired leases (lane, now); the
	// term claimed_until > 0 lets it use the partial messages_lane_claimed.
	sqlLeaseHeld = `SELECT COUNT(*) FROM messages WHERE lane = ? AND claimed_until > 0 AND claimed_until > ?`
	// sqlLaneHead reads the lane's first message's id and step, and when
	// it is available (lane).
	sqlLaneHead = `SELECT id, step, available_at FROM messages WHERE lane = ? ORDER BY id LIMIT 1`
	// sqlLaneCountUpTo counts the lane's messages, stopping at a limit
	// (lane, limit).
	sqlLaneCountUpTo = `SELECT COUNT(*) FROM (SELECT 1 FROM messages WHERE lane = ? LIMIT ?)`
	// sqlLaneNewest reads when the lane's newest message was received
	// (lane).
	sqlLaneNewest = `SELECT created_at FROM messages WHERE lane = ? ORDER BY id DESC LIMIT 1`
	// sqlLaneCount counts the lane's messages (lane).
	sqlLaneCount = `SELECT COUNT(*) FROM messages WHERE lane = ?`
)

func (s *Store) claim(ctx context.Context, tx *sql.Tx, req outbox.ClaimRequest) (outbox.Claim, error) {
	now := s.now()
	ms := now.UnixMilli()

	var held int
	err := tx.QueryRowContext(ctx, sqlLeaseHeld, req.Lane, ms).Scan(&held)
	if err != nil {
		return outbox.Claim{}, fmt.Errorf("check leases: %w", err)
	}
	if held > 0 {
		return outbox.Claim{}, nil
	}
	var headID, headStep, headAvailable int64
	err = tx.QueryRowContext(ctx, sqlLaneHead, req.Lane).Scan(&headID, &headStep, &headAvailable)
	if errors.Is(err, sql.ErrNoRows) {
		return outbox.Claim{Moved: req.Head != 0}, nil
	}
	if err != nil {
		return outbox.Claim{}, fmt.Errorf("read lane head: %w", err)
	}
	if req.Head != 0 && (headID != req.Head || headStep != int64(req.HeadStep)) {
		return outbox.Claim{Moved: true}, nil
	}
	if headAvailable > ms {
		return outbox.Claim{Wait: time.UnixMilli(headAvailable).Sub(now)}, nil
	}
	free := s.limiter.Free(now, req.Margin, req.Rules)
	if free == 0 {
		// No slot: Take takes nothing and says how long until one.
		wait, _ := s.limiter.Take(now, req.Margin, req.Rules)
		return outbox.Claim{Wait: wait}, nil
	}
	pace, busy := s.limiter.Pace(now, req.Margin, req.Rules)
	fold := busy
	if !fold {
		// Folding only asks whether more are queued than there are free
		// slots, so counting stops at free+1.
		var queued int
		if err := tx.QueryRowContext(ctx, sqlLaneCountUpTo, req.Lane, free+1).Scan(&queued); err != nil {
			return outbox.Claim{}, fmt.Errorf("count lane: %w", err)
		}
		fold = queued > free
	}
	var since time.Duration // since the lane's newest message, in a busy window
	if busy {
		var newest int64
		if err := tx.QueryRowContext(ctx, sqlLaneNewest, req.Lane).Scan(&newest); err != nil {
			return outbox.Claim{}, fmt.Errorf("read lane tail: %w", err)
		}
		since = time.Duration(ms-newest) * time.Millisecond
	}
	post, err := pick(ctx, tx, req, ms, free, fold, busy && outbox.Arriving(req, since))
	if err != nil {
		return outbox.Claim{}, err
	}
	if !post.Full {
		if wait := outbox.PaceWait(req, pace, since); wait > 0 {
			return outbox.Claim{Wait: wait}, nil
		}
	}
	if wait, ok := s.limiter.Take(now, req.Margin, req.Rules); !ok {
		return outbox.Claim{Wait: wait}, nil // not reached: claimMu holds the log
	}
	// The slot is taken: it counts even if what follows fails, and it is
	// written down in this transaction so a restart remembers it.
	if err := recordSlots(ctx, tx, req, ms); err != nil {
		return outbox.Claim{}, err
	}
	ids := make([]int64, len(post.Messages))
	for i, m := range post.Messages {
		ids[i] = m.ID
	}
	if _, err := tx.ExecContext(ctx, `UPDATE messages SET claimed_until = ? WHERE id IN `+inIDs,
		millis(now.Add(req.Lease)), idList(ids)); err != nil {
		return outbox.Claim{}, fmt.Errorf("lease messages: %w", err)
	}
	c := outbox.Claim{Messages: post.Messages, Storm: post.Storm}
	if post.Storm {
		var queued int
		if err := tx.QueryRowContext(ctx, sqlLaneCount, req.Lane).Scan(&queued); err != nil {
			return outbox.Claim{}, fmt.Errorf("count lane: %w", err)
		}
		c.Behind = queued - len(ids)
	}
	return c, nil
}

// pick reads the lane in order and plans its next post (outbox.PlanPost);
// without fold it reads the head only.
func pick(ctx context.Context, tx *sql.Tx, req outbox.ClaimRequest, ms int64, free int, fold, burst bool) (outbox.Post, error) {
	query := `SELECT ` + messageColumns + `, available_at FROM messages WHERE lane = ? ORDER BY id`
	if !fold {
		query += ` LIMIT 1`
	}
	// PlanPost reads no further than it needs.
	rows, err := tx.QueryContext(ctx, query, req.Lane)
	if err != nil {
		return outbox.Post{}, fmt.Errorf("read lane: %w", err)
	}
	defer func() { _ = rows.Close() }()
	post, err := outbox.PlanPost(req, free, fold, burst, func() (outbox.Candidate, bool, error) {
		if !rows.Next() {
			return outbox.Candidate{}, false, rows.Err()
		}
		var available int64
		m, err := scanMessage(rows, &available)
		return outbox.Candidate{Message: m, Due: available <= ms}, err == nil, err
	})
	if err != nil {
		return outbox.Post{}, fmt.Errorf("read lane: %w", err)
	}
	if len(post.Messages) == 0 {
		return outbox.Post{}, errors.New("read lane: head vanished")
	}
	return post, nil
}

// recordSlots writes one slot per distinct rule key to the limiter log on
// disk, as limiter.Log.Take took them in memory.
func recordSlots(ctx context.Context, tx *sql.Tx, req outbox.ClaimRequest, ms int64) error {
	seen := make(map[string]bool, len(req.Rules))
	for _, r := range req.Rules {
		if seen[r.Key] {
			continue
		}
		seen[r.Key] = true
		if _, err := tx.ExecContext(ctx, `INSERT INTO limiter_slots (key, at) VALUES (?, ?)`, r.Key, ms); err != nil {
			return fmt.Errorf("record limiter slot: %w", err)
		}
	}
	return nil
}
