package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Ack deletes delivered messages.
func (s *Store) Ack(ctx context.Context, ids []int64) error {
	if len(ids) == 0 {
		return nil
	}
	if _, err := s.pool.Exec(ctx, `DELETE FROM messages WHERE id = ANY($1)`, ids); err != nil {
		return fmt.Errorf("ack %d messages: %w", len(ids), err)
	}
	return nil
}

// Retry releases claimed messages to be claimed again from `at`, counting
// an attempt if countAttempt, records why the attempt failed, and wakes the
// workers of every replica. `at` is the caller's clock; a few milliseconds
// of skew against the database's clock only shift a backoff.
func (s *Store) Retry(ctx context.Context, ids []int64, at time.Time, countAttempt bool, reason, answer string) error {
	if len(ids) == 0 {
		return nil
	}
	inc := 0
	if countAttempt {
		inc = 1
	}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE messages
			SET claimed_until = 0, available_at = $1, attempts = attempts + $2, last_reason = $3, last_answer = $4
			WHERE id = ANY($5)`, millis(at), inc, reason, answer, ids)
		if err != nil {
			return err
		}
		return s.notify(ctx, tx)
	})
	if err != nil {
		return fmt.Errorf("retry %d messages: %w", len(ids), err)
	}
	return nil
}

// Bury moves messages to the dead letters with a reason and answer.
func (s *Store) Bury(ctx context.Context, ids []int64, reason, answer string) error {
	if len(ids) == 0 {
		return nil
	}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		now, err := s.clock(ctx, tx)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `WITH dead AS (DELETE FROM messages WHERE id = ANY($1) RETURNING *)
			INSERT INTO dead_letters
			(id, lane, sender, destination, body, notification_id, source, route, created_at, available_at,
			 attempts, claimed_until, last_reason, last_answer, reason, answer, died_at)
			SELECT id, lane, sender, destination, body, notification_id, source, route, created_at, available_at,
			 attempts, claimed_until, last_reason, last_answer, $2, $3, $4
			FROM dead ORDER BY id`, ids, reason, answer, now)
		if err != nil {
			return fmt.Errorf("move to dead letters: %w", err)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("bury %d messages: %w", len(ids), err)
	}
	return nil
}
