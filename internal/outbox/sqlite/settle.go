package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Ack deletes delivered messages.
func (s *Store) Ack(ctx context.Context, ids []int64) error {
	if len(ids) == 0 {
		return nil
	}
	in, args := inList(ids)
	res, err := s.db.ExecContext(ctx, `DELETE FROM messages WHERE id IN `+in, args...)
	if err != nil {
		return fmt.Errorf("ack %d messages: %w", len(ids), err)
	}
	s.forget(res)
	return nil
}

// Retry releases claimed messages to be claimed again from `at`, counting
// an attempt if countAttempt, and records why the attempt failed.
func (s *Store) Retry(ctx context.Context, ids []int64, at time.Time, countAttempt bool, reason, answer string) error {
	if len(ids) == 0 {
		return nil
	}
	inc := 0
	if countAttempt {
		inc = 1
	}
	in, args := inList(ids)
	args = append([]any{millis(at), inc, reason, answer}, args...)
	_, err := s.db.ExecContext(ctx, `UPDATE messages
		SET claimed_until = 0, available_at = ?, attempts = attempts + ?, last_reason = ?, last_answer = ?
		WHERE id IN `+in, args...)
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
	in, args := inList(ids)
	var buried int64
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO dead_letters
			(id, lane, sender, destination, body, notification_id, source, route, created_at, available_at,
			 attempts, claimed_until, last_reason, last_answer, reason, answer, died_at)
			SELECT id, lane, sender, destination, body, notification_id, source, route, created_at, available_at,
			 attempts, claimed_until, last_reason, last_answer, ?, ?, ?
			FROM messages WHERE id IN `+in+` ORDER BY id`,
			append([]any{reason, answer, s.now().UnixMilli()}, args...)...)
		if err != nil {
			return fmt.Errorf("copy to dead letters: %w", err)
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM messages WHERE id IN `+in, args...)
		if err != nil {
			return fmt.Errorf("delete from queue: %w", err)
		}
		buried, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return fmt.Errorf("bury %d messages: %w", len(ids), err)
	}
	s.queued.Add(-buried)
	return nil
}

// forget lowers the queued count by the rows a delete removed.
func (s *Store) forget(res sql.Result) {
	if n, err := res.RowsAffected(); err == nil {
		s.queued.Add(-n)
	}
}
