package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// sqlRecordGroupPosts records, per lane and notification group, the last
// of the messages about to be acked (ids, now): its id and the newest
// origin order delivered, kept if a newer one was delivered before.
const sqlRecordGroupPosts = `INSERT INTO group_posts (lane, group_key, last_message_id, last_origin_id, delivered_at)
	SELECT lane, group_key, max(id), max(COALESCE(NULLIF(origin_id, 0), id)), ?
	FROM messages WHERE id IN ` + inIDs + ` AND group_key != ''
	GROUP BY lane, group_key
	ON CONFLICT (lane, group_key) DO UPDATE SET
		last_message_id = excluded.last_message_id,
		last_origin_id = max(last_origin_id, excluded.last_origin_id),
		delivered_at = excluded.delivered_at`

// Ack deletes delivered messages and records the last one of each
// notification group in group_posts, in one transaction.
func (s *Store) Ack(ctx context.Context, ids []int64) error {
	if len(ids) == 0 {
		return nil
	}
	list := idList(ids)
	var acked int64
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, sqlRecordGroupPosts, s.now().UnixMilli(), list); err != nil {
			return fmt.Errorf("record group posts: %w", err)
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM messages WHERE id IN `+inIDs, list)
		if err != nil {
			return err
		}
		acked, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return s.fail(fmt.Errorf("ack %d messages: %w", len(ids), err))
	}
	s.queued.Add(-acked)
	return nil
}

// Renew extends to now+lease the leases of those of the messages whose
// lease has not expired.
func (s *Store) Renew(ctx context.Context, ids []int64, lease time.Duration) error {
	if len(ids) == 0 {
		return nil
	}
	now := s.now()
	_, err := s.db.ExecContext(ctx, `UPDATE messages SET claimed_until = ?
		WHERE id IN `+inIDs+` AND claimed_until > 0 AND claimed_until > ?`,
		millis(now.Add(lease)), idList(ids), now.UnixMilli())
	if err != nil {
		return s.fail(fmt.Errorf("renew the lease of %d messages: %w", len(ids), err))
	}
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
	_, err := s.db.ExecContext(ctx, `UPDATE messages
		SET claimed_until = 0, available_at = ?, attempts = attempts + ?, last_reason = ?, last_answer = ?
		WHERE id IN `+inIDs, millis(at), inc, reason, answer, idList(ids))
	if err != nil {
		return s.fail(fmt.Errorf("retry %d messages: %w", len(ids), err))
	}
	return nil
}

// Bury moves messages to the dead letters with a reason and answer.
func (s *Store) Bury(ctx context.Context, ids []int64, reason, answer string) error {
	if len(ids) == 0 {
		return nil
	}
	list := idList(ids)
	var buried int64
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO dead_letters
			(id, lane, sender, destination, body, line, tally, notification_id, source, route, group_key, origin_id,
			 created_at, available_at, attempts, claimed_until, last_reason, last_answer, reason, answer, died_at,
			 follow, solo, step)
			SELECT id, lane, sender, destination, body, line, tally, notification_id, source, route, group_key, origin_id,
			 created_at, available_at, attempts, claimed_until, last_reason, last_answer, ?, ?, ?,
			 follow, solo, step
			FROM messages WHERE id IN `+inIDs+` ORDER BY id`,
			reason, answer, s.now().UnixMilli(), list)
		if err != nil {
			return fmt.Errorf("copy to dead letters: %w", err)
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM messages WHERE id IN `+inIDs, list)
		if err != nil {
			return fmt.Errorf("delete from queue: %w", err)
		}
		buried, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return s.fail(fmt.Errorf("bury %d messages: %w", len(ids), err))
	}
	s.queued.Add(-buried)
	return nil
}
