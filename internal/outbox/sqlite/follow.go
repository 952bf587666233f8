package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/relayhq/relay/internal/delivery"
	"github.com/relayhq/relay/internal/outbox"
)

// Head returns the lane's first message, leased or not.
func (s *Store) Head(ctx context.Context, lane string) (delivery.Message, bool, error) {
	m, err := scanMessage(s.db.QueryRowContext(ctx,
		`SELECT `+messageColumns+` FROM messages WHERE lane = ? ORDER BY id LIMIT 1`, lane))
	if errors.Is(err, sql.ErrNoRows) {
		return delivery.Message{}, false, nil
	}
	if err != nil {
		return delivery.Message{}, false, s.fail(fmt.Errorf("read head of lane %s: %w", lane, err))
	}
	return m, true, nil
}

// GroupStates returns the states kept for the groups on the lane.
func (s *Store) GroupStates(ctx context.Context, lane string, groups []string) (map[string]string, error) {
	out := map[string]string{}
	if len(groups) == 0 {
		return out, nil
	}
	list, err := json.Marshal(groups)
	if err != nil {
		return nil, fmt.Errorf("encode groups: %w", err)
	}
	rows, err := s.db.QueryContext(ctx, `SELECT group_key, state FROM group_follows
		WHERE lane = ? AND group_key IN (SELECT value FROM json_each(?))`, lane, string(list))
	if err != nil {
		return nil, s.fail(fmt.Errorf("read group states of lane %s: %w", lane, err))
	}
	defer func() { _ = rows.Close() }()
	for rows.Next() {
		var g, st string
		if err := rows.Scan(&g, &st); err != nil {
			return nil, s.fail(fmt.Errorf("read group states of lane %s: %w", lane, err))
		}
		out[g] = st
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail(fmt.Errorf("read group states of lane %s: %w", lane, err))
	}
	return out, nil
}

// Progress writes the group states, acks p.Acked (recording them in
// group_posts as Ack does) and moves p.Next to their next step, released
// to be claimed at once, in one transaction.
func (s *Store) Progress(ctx context.Context, p outbox.Progress) error {
	now := s.now().UnixMilli()
	var acked int64
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		for _, g := range p.States {
			if _, err := tx.ExecContext(ctx, `INSERT INTO group_follows (lane, group_key, state, updated_at)
				VALUES (?, ?, ?, ?)
				ON CONFLICT (lane, group_key) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at`,
				g.Lane, g.Group, g.State, now); err != nil {
				return fmt.Errorf("write group state: %w", err)
			}
		}
		if len(p.Next) > 0 {
			if _, err := tx.ExecContext(ctx, `UPDATE messages SET step = step + 1, claimed_until = 0, available_at = ?
				WHERE id IN `+inIDs, now, idList(p.Next)); err != nil {
				return fmt.Errorf("advance messages: %w", err)
			}
		}
		if len(p.Acked) == 0 {
			return nil
		}
		list := idList(p.Acked)
		if _, err := tx.ExecContext(ctx, sqlRecordGroupPosts, now, list); err != nil {
			return fmt.Errorf("record group posts: %w", err)
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM messages WHERE id IN `+inIDs, list)
		if err != nil {
			return err
		}
		acked, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return s.fail(fmt.Errorf("record progress of %d messages: %w", len(p.Acked)+len(p.Next), err))
	}
	s.queued.Add(-acked)
	return nil
}
