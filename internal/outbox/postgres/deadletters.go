package postgres

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/relayhq/relay/internal/outbox"
)

// DeadLetters lists up to limit dead letters (all if limit <= 0), oldest
// death first.
func (s *Store) DeadLetters(ctx context.Context, limit int) ([]outbox.DeadLetter, error) {
	if limit <= 0 {
		limit = math.MaxInt32
	}
	rows, err := s.pool.Query(ctx, `SELECT `+messageColumns+`, reason, answer, died_at
		FROM dead_letters ORDER BY died_at, id LIMIT $1`, limit)
	if err != nil {
		return nil, fmt.Errorf("list dead letters: %w", err)
	}
	defer rows.Close()
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
// max-age rule does not bury them again at once. Workers of every replica
// are woken.
func (s *Store) Requeue(ctx context.Context, ids []int64) (int, error) {
	all := len(ids) == 0
	var n int64
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		now, err := s.clock(ctx, tx)
		if err != nil {
			return err
		}
		// Lock the lanes written to, as Enqueue does, so that claims see
		// the new ids in order.
		rows, err := tx.Query(ctx, `SELECT DISTINCT lane FROM dead_letters WHERE $1 OR id = ANY($2)`, all, ids)
		if err != nil {
			return fmt.Errorf("read lanes: %w", err)
		}
		lanes, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return fmt.Errorf("read lanes: %w", err)
		}
		if err := s.lockAll(ctx, tx, "lane", lanes); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `WITH dead AS (DELETE FROM dead_letters WHERE $1 OR id = ANY($2) RETURNING *)
			INSERT INTO messages
			(lane, sender, destination, body, notification_id, source, route, created_at, available_at)
			SELECT lane, sender, destination, body, notification_id, source, route, $3, $3
			FROM dead ORDER BY id`, all, ids, now)
		if err != nil {
			return fmt.Errorf("move to queue: %w", err)
		}
		if n = tag.RowsAffected(); n > 0 {
			return s.notify(ctx, tx)
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("requeue: %w", err)
	}
	if n > 0 {
		s.signal()
	}
	return int(n), nil
}
