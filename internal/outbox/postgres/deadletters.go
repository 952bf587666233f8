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

// sqlRequeueCandidates reads the dead letters a Requeue asks for (all, or
// ids: $1, $2), each with when a newer notification of its group was
// delivered on its lane (NULL if none, or no group) and whether one is
// queued there, and locks them.
const sqlRequeueCandidates = `SELECT d.id, d.lane,
		(SELECT max(gp.delivered_at) FROM group_posts AS gp
			WHERE d.group_key <> '' AND gp.lane = d.lane AND gp.group_key = d.group_key
			AND gp.last_origin_id > COALESCE(NULLIF(d.origin_id, 0), d.id)),
		d.group_key <> '' AND EXISTS (SELECT FROM messages AS m
			WHERE m.lane = d.lane AND m.group_key = d.group_key
			AND COALESCE(NULLIF(m.origin_id, 0), m.id) > COALESCE(NULLIF(d.origin_id, 0), d.id))
	FROM dead_letters AS d WHERE $1 OR d.id = ANY($2) ORDER BY d.id FOR UPDATE OF d`

// Requeue moves the given dead letters (all when ids is empty) back to the
// queue with new ids, so they join the end of their lanes, in the order of
// their old ids, with attempts reset, except those superseded (see
// outbox.Store), which stay dead. Their CreatedAt becomes now, so that a
// max-age rule does not bury them again at once; their origin id, which
// orders them in their group, stays. Workers of every replica are woken.
func (s *Store) Requeue(ctx context.Context, ids []int64) (outbox.RequeueResult, error) {
	all := len(ids) == 0
	var res outbox.RequeueResult
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		res = outbox.RequeueResult{}
		now, err := s.clock(ctx, tx)
		if err != nil {
			return err
		}
		move, lanes, skipped, err := requeueCandidates(ctx, tx, all, ids)
		if err != nil {
			return err
		}
		res.Skipped = skipped
		if len(move) == 0 {
			return nil
		}
		// Lock the lanes written to, as Enqueue does, so that claims see
		// the new ids in order.
		if err := s.lockAll(ctx, tx, "lane", lanes); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `WITH dead AS (DELETE FROM dead_letters WHERE id = ANY($1) RETURNING *)
			INSERT INTO messages
			(lane, sender, destination, body, line, tally, notification_id, source, route, group_key, origin_id, created_at, available_at,
			 follow, solo, step)
			SELECT lane, sender, destination, body, line, tally, notification_id, source, route, group_key,
				COALESCE(NULLIF(origin_id, 0), id), $2, $2, follow, solo, step
			FROM dead ORDER BY id`, move, now)
		if err != nil {
			return fmt.Errorf("move to queue: %w", err)
		}
		if res.Requeued = int(tag.RowsAffected()); res.Requeued > 0 {
			return s.notify(ctx, tx)
		}
		return nil
	})
	if err != nil {
		return outbox.RequeueResult{}, fmt.Errorf("requeue: %w", err)
	}
	if res.Requeued > 0 {
		s.signal()
	}
	return res, nil
}

// requeueCandidates returns the ids of the dead letters to move (all, or
// ids) and their lanes, and those to skip, with the reason, in id order.
func requeueCandidates(ctx context.Context, tx pgx.Tx, all bool, ids []int64) (move []int64, lanes []string, skipped []outbox.Skipped, err error) {
	rows, err := tx.Query(ctx, sqlRequeueCandidates, all, ids)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("read dead letters: %w", err)
	}
	found := map[int64]bool{}
	seenLane := map[string]bool{}
	var (
		id        int64
		lane      string
		delivered *int64
		queued    bool
	)
	_, err = pgx.ForEachRow(rows, []any{&id, &lane, &delivered, &queued}, func() error {
		found[id] = true
		switch {
		case delivered != nil:
			skipped = append(skipped, outbox.Skipped{ID: id, Reason: outbox.ReasonSupersededDelivered(time.UnixMilli(*delivered))})
		case queued:
			skipped = append(skipped, outbox.Skipped{ID: id, Reason: outbox.ReasonSupersededQueued})
		default:
			move = append(move, id)
			if !seenLane[lane] {
				seenLane[lane] = true
				lanes = append(lanes, lane)
			}
		}
		return nil
	})
	if err != nil {
		return nil, nil, nil, fmt.Errorf("read dead letters: %w", err)
	}
	return move, lanes, outbox.WithMissing(skipped, ids, found), nil
}
