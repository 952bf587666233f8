package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/relayhq/relay/internal/outbox"
)

// sqlLanes lists the distinct lanes in order by hopping from one lane to
// the next along the messages_lane_id index: one seek per lane. (SELECT
// DISTINCT reads every queued message, and the dispatcher lists the lanes
// after every Enqueue.)
const sqlLanes = `WITH RECURSIVE l(lane) AS (
		SELECT MIN(lane) FROM messages
		UNION ALL
		SELECT (SELECT MIN(lane) FROM messages WHERE lane > l.lane) FROM l WHERE l.lane IS NOT NULL
	)
	SELECT lane FROM l WHERE lane IS NOT NULL`

// Lanes lists the lanes that hold queued messages, sorted.
func (s *Store) Lanes(ctx context.Context) ([]string, error) {
	rows, err := s.lanes.QueryContext(ctx)
	if err != nil {
		return nil, s.fail(fmt.Errorf("list lanes: %w", err))
	}
	defer func() { _ = rows.Close() }()
	var lanes []string
	for rows.Next() {
		var l string
		if err := rows.Scan(&l); err != nil {
			return nil, s.fail(fmt.Errorf("list lanes: %w", err))
		}
		lanes = append(lanes, l)
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail(fmt.Errorf("list lanes: %w", err))
	}
	return lanes, nil
}

// Stats reports queue depth and oldest message per sender, sorted by sender.
func (s *Store) Stats(ctx context.Context) ([]outbox.Stat, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT sender, COUNT(*), MIN(created_at)
		FROM messages GROUP BY sender ORDER BY sender`)
	if err != nil {
		return nil, s.fail(fmt.Errorf("read stats: %w", err))
	}
	defer func() { _ = rows.Close() }()
	var stats []outbox.Stat
	for rows.Next() {
		var (
			st     outbox.Stat
			oldest int64
		)
		if err := rows.Scan(&st.Sender, &st.Depth, &oldest); err != nil {
			return nil, s.fail(fmt.Errorf("read stats: %w", err))
		}
		st.Oldest = time.UnixMilli(oldest)
		stats = append(stats, st)
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail(fmt.Errorf("read stats: %w", err))
	}
	return stats, nil
}

// pingPad is larger than a page, so Ping needs free pages as an Enqueue does.
const pingPad = 8192

// Ping checks that the store can write: it commits (synced) a row that
// needs new pages, and deletes it in the same transaction.
//
// It fails once the store is broken, with the reason, and checks first
// that the path still names the file the store opened.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.health.checkFile(); err != nil {
		return err
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO heartbeat (at, pad) VALUES (?, zeroblob(?))`,
			s.now().UnixMilli(), pingPad); err != nil {
			return fmt.Errorf("write heartbeat: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM heartbeat`); err != nil {
			return fmt.Errorf("delete heartbeat: %w", err)
		}
		return nil
	})
	if err != nil {
		_ = s.fail(err)
		if berr := s.health.err(); berr != nil {
			return berr
		}
		return fmt.Errorf("ping outbox: %w", err)
	}
	return nil
}

// sweeper deletes expired dedup keys every SweepEvery until Close.
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
				_ = s.fail(err)
				s.log.Warn("sweep expired dedup keys", zap.Error(err))
			}
		}
	}
}

// sweep deletes expired dedup keys, limiter slots and pauses no window
// can need any more, and group posts and follow states past their memory,
// and returns how many dedup keys it deleted.
func (s *Store) sweep(ctx context.Context) (int64, error) {
	now := s.now()
	res, err := s.db.ExecContext(ctx, `DELETE FROM dedup WHERE expires_at <= ?`, now.UnixMilli())
	if err != nil {
		return 0, fmt.Errorf("sweep dedup: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("sweep dedup: %w", err)
	}
	if _, err := s.db.ExecContext(ctx, `DELETE FROM limiter_slots WHERE at <= ?`, now.Add(-limiterMemory).UnixMilli()); err != nil {
		return 0, fmt.Errorf("sweep limiter slots: %w", err)
	}
	if _, err := s.db.ExecContext(ctx, `DELETE FROM limiter_pauses WHERE until <= ?`, now.UnixMilli()); err != nil {
		return 0, fmt.Errorf("sweep limiter pauses: %w", err)
	}
	if _, err := s.db.ExecContext(ctx, `DELETE FROM group_posts WHERE delivered_at <= ?`,
		now.Add(-outbox.GroupPostMemory).UnixMilli()); err != nil {
		return 0, fmt.Errorf("sweep group posts: %w", err)
	}
	if _, err := s.db.ExecContext(ctx, `DELETE FROM group_follows WHERE updated_at <= ?`,
		now.Add(-s.opts.FollowMemory).UnixMilli()); err != nil {
		return 0, fmt.Errorf("sweep group follows: %w", err)
	}
	return n, nil
}
