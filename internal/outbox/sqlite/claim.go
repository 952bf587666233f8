package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/relayhq/relay/internal/delivery"
	"github.com/relayhq/relay/internal/outbox"
)

// Claim leases the next post of a lane, as outbox.Claim describes: nothing
// while another lease on the lane is unexpired; a Wait while the head is
// backing off or the limiter has no slot; else one slot in every rule and
// the head, folded with the messages behind it when more are queued than
// the rules have slots free.
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
	// Folding only asks whether more are queued than there are free
	// slots, so counting stops at free+1.
	var queued int
	if err := tx.QueryRowContext(ctx, sqlLaneCountUpTo, req.Lane, free+1).Scan(&queued); err != nil {
		return outbox.Claim{}, fmt.Errorf("count lane: %w", err)
	}
	if wait, ok := s.limiter.Take(now, req.Margin, req.Rules); !ok {
		return outbox.Claim{Wait: wait}, nil
	}
	// The slot is taken: it counts even if what follows fails, and it is
	// written down in this transaction so a restart remembers it.
	if err := recordSlots(ctx, tx, req, ms); err != nil {
		return outbox.Claim{}, err
	}
	fold := queued > free
	msgs, err := pick(ctx, tx, req, ms, fold)
	if err != nil {
		return outbox.Claim{}, err
	}
	ids := make([]int64, len(msgs))
	for i, m := range msgs {
		ids[i] = m.ID
	}
	if _, err := tx.ExecContext(ctx, `UPDATE messages SET claimed_until = ? WHERE id IN `+inIDs,
		millis(now.Add(req.Lease)), idList(ids)); err != nil {
		return outbox.Claim{}, fmt.Errorf("lease messages: %w", err)
	}
	return outbox.Claim{Messages: msgs}, nil
}

// pick reads the head of the lane and, if fold, the available messages
// behind it that fit in req.MaxChars with separators.
func pick(ctx context.Context, tx *sql.Tx, req outbox.ClaimRequest, ms int64, fold bool) ([]delivery.Message, error) {
	query := `SELECT ` + messageColumns + `, available_at FROM messages WHERE lane = ? ORDER BY id`
	if !fold {
		query += ` LIMIT 1`
	}
	// When folding, reading stops at the first message that does not fit.
	rows, err := tx.QueryContext(ctx, query, req.Lane)
	if err != nil {
		return nil, fmt.Errorf("read lane: %w", err)
	}
	defer func() { _ = rows.Close() }()
	var msgs []delivery.Message
	folder := outbox.NewFolder(req)
	for rows.Next() {
		var available int64
		m, err := scanMessage(rows, &available)
		if err != nil {
			return nil, fmt.Errorf("read lane: %w", err)
		}
		if !folder.Add(delivery.Len(m.Body), available <= ms, outbox.Alone(m)) {
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
