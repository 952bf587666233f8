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
		return nil, s.fail(fmt.Errorf("list dead letters: %w", err))
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

// sqlRequeueCandidates reads the dead letters a Requeue asks for (the
// WHERE is appended), each with when a newer notification of its group was
// delivered on its lane (NULL if none, or no group) and whether one is
// queued there.
const sqlRequeueCandidates = `WITH queued AS (
		SELECT lane, group_key, max(COALESCE(NULLIF(origin_id, 0), id)) AS newest
		FROM messages WHERE group_key != '' GROUP BY lane, group_key
	)
	SELECT d.id, gp.delivered_at, q.newest IS NOT NULL
	FROM dead_letters AS d
	LEFT JOIN group_posts AS gp ON d.group_key != '' AND gp.lane = d.lane AND gp.group_key = d.group_key
		AND gp.last_origin_id > COALESCE(NULLIF(d.origin_id, 0), d.id)
	LEFT JOIN queued AS q ON d.group_key != '' AND q.lane = d.lane AND q.group_key = d.group_key
		AND q.newest > COALESCE(NULLIF(d.origin_id, 0), d.id)`

// Requeue moves the given dead letters (all when ids is empty) back to the
// queue with new ids, so they join the end of their lanes, in the order of
// their old ids, with attempts reset, except those superseded (see
// outbox.Store), which stay dead. Their CreatedAt becomes now, so that a
// max-age rule does not bury them again at once; their origin id, which
// orders them in their group, stays.
func (s *Store) Requeue(ctx context.Context, ids []int64) (outbox.RequeueResult, error) {
	ms := s.now().UnixMilli()
	var res outbox.RequeueResult
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		move, skipped, err := requeueCandidates(ctx, tx, ids)
		if err != nil {
			return err
		}
		res.Skipped = skipped
		if len(move) == 0 {
			return nil
		}
		list := idList(move)
		r, err := tx.ExecContext(ctx, `INSERT INTO messages
			(lane, sender, destination, body, line, tally, notification_id, source, route, group_key, origin_id, created_at, available_at,
			 follow, solo, step)
			SELECT lane, sender, destination, body, line, tally, notification_id, source, route, group_key,
				COALESCE(NULLIF(origin_id, 0), id), ?, ?, follow, solo, step
			FROM dead_letters WHERE id IN `+inIDs+` ORDER BY id`, ms, ms, list)
		if err != nil {
			return fmt.Errorf("copy to queue: %w", err)
		}
		n, err := r.RowsAffected()
		if err != nil {
			return fmt.Errorf("copy to queue: %w", err)
		}
		res.Requeued = int(n)
		if _, err := tx.ExecContext(ctx, `DELETE FROM dead_letters WHERE id IN `+inIDs, list); err != nil {
			return fmt.Errorf("delete dead letters: %w", err)
		}
		return nil
	})
	if err != nil {
		return outbox.RequeueResult{}, s.fail(fmt.Errorf("requeue: %w", err))
	}
	s.queued.Add(int64(res.Requeued))
	if res.Requeued > 0 {
		s.signal()
	}
	return res, nil
}

// requeueCandidates returns the ids of the dead letters to move (all when
// ids is empty) and those to skip, with the reason, in id order.
func requeueCandidates(ctx context.Context, tx *sql.Tx, ids []int64) (move []int64, skipped []outbox.Skipped, err error) {
	query, args := sqlRequeueCandidates, []any{}
	if len(ids) > 0 {
		query += ` WHERE d.id IN ` + inIDs
		args = append(args, idList(ids))
	}
	rows, err := tx.QueryContext(ctx, query+` ORDER BY d.id`, args...)
	if err != nil {
		return nil, nil, fmt.Errorf("read dead letters: %w", err)
	}
	defer func() { _ = rows.Close() }()
	found := map[int64]bool{}
	for rows.Next() {
		var (
			id        int64
			delivered sql.NullInt64
			queued    bool
		)
		if err := rows.Scan(&id, &delivered, &queued); err != nil {
			return nil, nil, fmt.Errorf("read dead letters: %w", err)
		}
		if found[id] {
			continue // joined with more than one row
		}
		found[id] = true
		switch {
		case delivered.Valid:
			skipped = append(skipped, outbox.Skipped{ID: id, Reason: outbox.ReasonSupersededDelivered(time.UnixMilli(delivered.Int64))})
		case queued:
			skipped = append(skipped, outbox.Skipped{ID: id, Reason: outbox.ReasonSupersededQueued})
		default:
			move = append(move, id)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("read dead letters: %w", err)
	}
	return move, outbox.WithMissing(skipped, ids, found), nil
}
