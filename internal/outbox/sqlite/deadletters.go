package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"time"

	"github.com/relayhq/relay/internal/outbox"
)

// DeadLetters lists up to limit dead letters (all if limit <= 0), oldest
// death first.
func (s *Store) DeadLetters(ctx context.Context, limit int) ([]outbox.DeadLetter, error) {
	if limit <= 0 {
		limit = math.MaxInt32
	}
	rows, err := s.db.QueryContext(ctx, `SELECT `+messageColumns+`, reason, answer, died_at
		FROM dead_letters ORDER BY died_at, id LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("list dead letters: %w", err)
	}
	defer func() { _ = rows.Close() }()
	var out []outbox.DeadLetter
	for rows.Next() {
		var (
			d    outbox.DeadLetter
			died int64
		)
		d.Message, err = scanMessage(rows, &d.Reason, &d.Answer, &died)
		if err != nil {
			return nil, fmt.Errorf("list dead letters: %w", err)
		}
		d.DiedAt = time.UnixMilli(died)
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list dead letters: %w", err)
	}
	return out, nil
}

// Requeue moves the given dead letters (all when ids is empty) back to the
// queue with new ids, so they join the end of their lanes, in the order of
// their old ids, with attempts reset. Their CreatedAt becomes now, so that a
// max-age rule does not bury them again at once.
func (s *Store) Requeue(ctx context.Context, ids []int64) (int, error) {
	where, args := "", []any{}
	if len(ids) > 0 {
		var in string
		in, args = inList(ids)
		where = ` WHERE id IN ` + in
	}
	ms := s.now().UnixMilli()
	var n int64
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO messages
			(lane, sender, destination, body, notification_id, source, route, created_at, available_at)
			SELECT lane, sender, destination, body, notification_id, source, route, ?, ?
			FROM dead_letters`+where+` ORDER BY id`,
			append([]any{ms, ms}, args...)...)
		if err != nil {
			return fmt.Errorf("copy to queue: %w", err)
		}
		if n, err = res.RowsAffected(); err != nil {
			return fmt.Errorf("copy to queue: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM dead_letters`+where, args...); err != nil {
			return fmt.Errorf("delete dead letters: %w", err)
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("requeue: %w", err)
	}
	s.queued.Add(n)
	if n > 0 {
		s.signal()
	}
	return int(n), nil
}
