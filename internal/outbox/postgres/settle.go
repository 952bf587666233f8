package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// sqlAck deletes the delivered messages (ids, now) and records, per lane
// and notification group, the last of them: its id and the newest origin
// order delivered, kept if a newer one was delivered before. ids is one
// array parameter, however many there are.
const sqlAck = `WITH acked AS (
		DELETE FROM messages WHERE id = ANY($1) RETURNING id, lane, group_key, origin_id
	)
	INSERT INTO group_posts AS gp (lane, group_key, last_message_id, last_origin_id, delivered_at)
	SELECT lane, group_key, max(id), max(COALESCE(NULLIF(origin_id, 0), id)), $2
	FROM acked WHERE group_key <> '' GROUP BY lane, group_key
	ON CONFLICT (lane, group_key) DO UPDATE SET
		last_message_id = excluded.last_message_id,
		last_origin_id = GREATEST(gp.last_origin_id, excluded.last_origin_id),
		delivered_at = excluded.delivered_at`

// Ack deletes delivered messages and records the last one of each
// notification group in group_posts, in one statement.
func (s *Store) Ack(ctx context.Context, ids []int64) error {
	if len(ids) == 0 {
		return nil
	}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		now, err := s.clock(ctx, tx)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, sqlAck, ids, now)
		return err
	})
	if err != nil {
		return fmt.Errorf("ack %d messages: %w", len(ids), err)
	}
	return nil
}

// Renew extends to now+lease the leases of those of the messages whose
// lease has not expired, by the database's clock.
func (s *Store) Renew(ctx context.Context, ids []int64, lease time.Duration) error {
	if len(ids) == 0 {
		return nil
	}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		now, err := s.clock(ctx, tx)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE messages SET claimed_until = $1
			WHERE id = ANY($2) AND claimed_until > $3`, now+durationMillis(lease), ids, now)
		return err
	})
	if err != nil {
		return fmt.Errorf("renew the lease of %d messages: %w", len(ids), err)
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
			(id, lane, sender, destination, body, line, tally, notification_id, source, route, group_key, origin_id,
			 created_at, available_at, attempts, claimed_until, last_reason, last_answer, reason, answer, died_at,
			 follow, solo, step)
			SELECT id, lane, sender, destination, body, line, tally, notification_id, source, route, group_key, origin_id,
			 created_at, available_at, attempts, claimed_until, last_reason, last_answer, $2, $3, $4,
			 follow, solo, step
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
