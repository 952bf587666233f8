package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"go.uber.org/zap"

	"github.com/relayhq/relay/internal/outbox"
)

// sqlLanes lists the distinct lanes in order by hopping from one lane to
// the next along the messages_lane_id index, one seek per lane (a loose
// index scan, which PostgreSQL's planner does not do by itself). SELECT
// DISTINCT reads every queued message, and the dispatcher lists the lanes
// after every Enqueue.
const sqlLanes = `WITH RECURSIVE l(lane) AS (
		(SELECT lane FROM messages ORDER BY lane LIMIT 1)
		UNION ALL
		SELECT (SELECT m.lane FROM messages AS m WHERE m.lane > l.lane ORDER BY m.lane LIMIT 1)
		FROM l WHERE l.lane IS NOT NULL
	)
	SELECT lane FROM l WHERE lane IS NOT NULL`

// Lanes lists the lanes that hold queued messages, sorted.
func (s *Store) Lanes(ctx context.Context) ([]string, error) {
	rows, err := s.pool.Query(ctx, sqlLanes)
	if err != nil {
		return nil, fmt.Errorf("list lanes: %w", err)
	}
	lanes, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("list lanes: %w", err)
	}
	return lanes, nil
}

// Stats reports queue depth and oldest message per sender, sorted by sender.
func (s *Store) Stats(ctx context.Context) ([]outbox.Stat, error) {
	rows, err := s.pool.Query(ctx, `SELECT sender, COUNT(*), MIN(created_at)
		FROM messages GROUP BY sender ORDER BY sender`)
	if err != nil {
		return nil, fmt.Errorf("read stats: %w", err)
	}
	var (
		stats  []outbox.Stat
		st     outbox.Stat
		oldest int64
	)
	_, err = pgx.ForEachRow(rows, []any{&st.Sender, &st.Depth, &oldest}, func() error {
		st.Oldest = time.UnixMilli(oldest)
		stats = append(stats, st)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read stats: %w", err)
	}
	return stats, nil
}

// Ping checks that the store can write: it commits a heartbeat row and
// deletes it in the same transaction. PostgreSQL gives up a little before
// ctx's deadline (boundTx), so a locked table fails Ping in time.
func (s *Store) Ping(ctx context.Context) error {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := boundTx(ctx, tx); err != nil {
			return err
		}
		now, err := s.clock(ctx, tx)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO heartbeat (at) VALUES ($1)`, now); err != nil {
			return fmt.Errorf("write heartbeat: %w", err)
		}
		if _, err := tx.Exec(ctx, `DELETE FROM heartbeat`); err != nil {
			return fmt.Errorf("delete heartbeat: %w", err)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("ping outbox: %w", err)
	}
	return nil
}

// idleSlotAge is how long limiter slots of a key no claim touched are
// kept: longer than any upstream's window (5 minutes).
const idleSlotAge = time.Hour

// sweeper deletes expired dedup keys, pauses and idle limiter slots every
// SweepEvery until Close. Every replica sweeps; the deletes are idempotent.
func (s *Store) sweeper() {
	defer s.done.Done()
	t := time.NewTicker(s.opts.SweepEvery)
	defer t.Stop()
	for {
		select {
		case <-s.quit:
			return
		case <-t.C:
			if _, err := s.sweep(context.Background()); err != nil {
				s.log.Warn("sweep outbox", zap.Error(err))
			}
		}
	}
}

// sweep deletes what has expired and returns how many rows.
func (s *Store) sweep(ctx context.Context) (int64, error) {
	now, err := s.clock(ctx, s.pool)
	if err != nil {
		return 0, fmt.Errorf("sweep: %w", err)
	}
	var n int64
	for _, q := range []struct {
		what, sql string
		before    int64
	}{
		{"dedup keys", `DELETE FROM dedup WHERE expires_at <= $1`, now},
		{"pauses", `DELETE FROM limiter_pauses WHERE until <= $1`, now},
		{"limiter slots", `DELETE FROM limiter_slots WHERE at <= $1`, now - idleSlotAge.Milliseconds()},
		{"group posts", `DELETE FROM group_posts WHERE delivered_at <= $1`, now - outbox.GroupPostMemory.Milliseconds()},
		{"group follows", `DELETE FROM group_follows WHERE updated_at <= $1`, now - s.opts.FollowMemory.Milliseconds()},
	} {
		tag, err := s.pool.Exec(ctx, q.sql, q.before)
		if err != nil {
			return n, fmt.Errorf("sweep %s: %w", q.what, err)
		}
		n += tag.RowsAffected()
	}
	return n, nil
}
