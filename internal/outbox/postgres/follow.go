package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/relayhq/relay/internal/delivery"
	"github.com/relayhq/relay/internal/outbox"
)

// Head returns the lane's first message, leased or not.
func (s *Store) Head(ctx context.Context, lane string) (delivery.Message, bool, error) {
	m, err := scanMessage(s.pool.QueryRow(ctx, `SELECT `+messageColumns+` FROM messages
		WHERE lane >= $1 AND lane <= $1 ORDER BY lane, id LIMIT 1`, lane))
	if errors.Is(err, pgx.ErrNoRows) {
		return delivery.Message{}, false, nil
	}
	if err != nil {
		return delivery.Message{}, false, fmt.Errorf("read head of lane %s: %w", lane, err)
	}
	return m, true, nil
}

// GroupStates returns the states kept for the groups on the lane.
func (s *Store) GroupStates(ctx context.Context, lane string, groups []string) (map[string]string, error) {
	out := map[string]string{}
	if len(groups) == 0 {
		return out, nil
	}
	rows, err := s.pool.Query(ctx, `SELECT group_key, state FROM group_follows
		WHERE lane = $1 AND group_key = ANY($2)`, lane, groups)
	if err != nil {
		return nil, fmt.Errorf("read group states of lane %s: %w", lane, err)
	}
	var g, st string
	_, err = pgx.ForEachRow(rows, []any{&g, &st}, func() error {
		out[g] = st
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read group states of lane %s: %w", lane, err)
	}
	return out, nil
}

// Progress writes the group states, acks p.Acked (recording them in
// group_posts as Ack does) and moves p.Next to their next step, released
// to be claimed at once, in one transaction, and wakes the workers of
// every replica when a message has a next step.
func (s *Store) Progress(ctx context.Context, p outbox.Progress) error {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		now, err := s.clock(ctx, tx)
		if err != nil {
			return err
		}
		for _, g := range p.States {
			if _, err := tx.Exec(ctx, `INSERT INTO group_follows (lane, group_key, state, updated_at)
				VALUES ($1, $2, $3, $4)
				ON CONFLICT (lane, group_key) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at`,
				g.Lane, g.Group, g.State, now); err != nil {
				return fmt.Errorf("write group state: %w", err)
			}
		}
		if len(p.Next) > 0 {
			if _, err := tx.Exec(ctx, `UPDATE messages SET step = step + 1, claimed_until = 0, available_at = $1
				WHERE id = ANY($2)`, now, p.Next); err != nil {
				return fmt.Errorf("advance messages: %w", err)
			}
			if err := s.notify(ctx, tx); err != nil {
				return err
			}
		}
		if len(p.Acked) > 0 {
			if _, err := tx.Exec(ctx, sqlAck, p.Acked, now); err != nil {
				return fmt.Errorf("ack: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("record progress of %d messages: %w", len(p.Acked)+len(p.Next), err)
	}
	return nil
}
