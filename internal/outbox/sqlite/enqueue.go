package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/relayhq/relay/internal/outbox"
)

// Enqueue commits the batch durably before it returns: the group
// committer's writer commits it, with whatever other batches are waiting,
// in one transaction. A batch is all or nothing, whatever happens to the
// others in its group.
func (s *Store) Enqueue(ctx context.Context, b outbox.Batch) (outbox.EnqueueResult, error) {
	res, err := s.group.Enqueue(ctx, b)
	if err == nil && len(res.IDs) > 0 {
		s.signal()
	}
	return res, err
}

// commitGroup is the store's outbox.CommitFunc: it writes each batch under
// its own savepoint, commits once, and answers every batch.
func (s *Store) commitGroup(group []outbox.Pending) []outbox.Answer {
	answers := make([]outbox.Answer, len(group))
	err := s.inTx(context.Background(), func(tx *sql.Tx) error {
		g := groupState{now: s.now(), seen: map[string]string{}}
		for i, r := range group {
			answers[i] = s.enqueueOne(tx, &g, r)
		}
		return nil
	})
	s.commits.Add(1)
	if err != nil {
		err = fmt.Errorf("enqueue: %w", err)
		s.log.Error("outbox group commit failed", zap.Int("batches", len(group)), zap.Error(err))
	}
	var added int64
	for i := range answers {
		if err != nil && answers[i].Err == nil {
			answers[i] = outbox.Answer{Err: err}
		}
		added += int64(len(answers[i].Result.IDs))
	}
	s.queued.Add(added)
	return answers
}

// groupState is what one group commit knows beyond the database.
type groupState struct {
	now   time.Time
	seen  map[string]string // DedupKeys written in this group -> NotificationID
	added int               // messages written in this group
}

// enqueueOne writes one batch under a savepoint, or rolls it back.
func (s *Store) enqueueOne(tx *sql.Tx, g *groupState, r outbox.Pending) outbox.Answer {
	b := r.Batch
	if err := r.Ctx.Err(); err != nil {
		return outbox.Answer{Err: fmt.Errorf("enqueue: %w", err)}
	}
	if b.DedupKey != "" {
		first, err := s.remembered(tx, g, b.DedupKey)
		if err != nil {
			return outbox.Answer{Err: err}
		}
		if first != "" {
			return outbox.Answer{Result: outbox.EnqueueResult{NotificationID: first, Duplicate: true}}
		}
	}
	if limit := s.opts.MaxQueued; limit > 0 && int(s.queued.Load())+g.added+len(b.Messages) > limit {
		return outbox.Answer{Err: fmt.Errorf("enqueue %d messages: %w", len(b.Messages), outbox.ErrFull)}
	}
	if _, err := tx.Stmt(s.writes.savepoint).Exec(); err != nil {
		return outbox.Answer{Err: fmt.Errorf("enqueue: open savepoint: %w", err)}
	}
	ids, err := s.writeBatch(tx, g.now, b)
	if err != nil {
		if _, rerr := tx.Stmt(s.writes.rollbackTo).Exec(); rerr != nil {
			err = errors.Join(err, fmt.Errorf("roll back batch: %w", rerr))
		}
	}
	if _, rerr := tx.Stmt(s.writes.release).Exec(); rerr != nil && err == nil {
		err = fmt.Errorf("release savepoint: %w", rerr)
	}
	if err != nil {
		return outbox.Answer{Err: fmt.Errorf("enqueue: %w", err)}
	}
	if b.DedupKey != "" {
		g.seen[b.DedupKey] = b.NotificationID
	}
	g.added += len(ids)
	return outbox.Answer{Result: outbox.EnqueueResult{NotificationID: b.NotificationID, IDs: ids}}
}

// remembered returns the NotificationID of an unexpired batch with key,
// written earlier in this group or committed before, or "".
func (s *Store) remembered(tx *sql.Tx, g *groupState, key string) (string, error) {
	if id, ok := g.seen[key]; ok {
		return id, nil
	}
	var id string
	err := tx.Stmt(s.writes.lookupDedup).QueryRow(key, g.now.UnixMilli()).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("enqueue: look up dedup key: %w", err)
	}
	return id, nil
}

// writeBatch inserts the batch's messages and remembers its dedup key for
// the DedupTTL.
func (s *Store) writeBatch(tx *sql.Tx, now time.Time, b outbox.Batch) ([]int64, error) {
	ms := now.UnixMilli()
	insert := tx.Stmt(s.writes.insertMessage)
	ids := make([]int64, 0, len(b.Messages))
	for _, m := range b.Messages {
		dest, err := json.Marshal(m.Dest)
		if err != nil {
			return nil, fmt.Errorf("encode destination: %w", err)
		}
		created := ms
		if !m.CreatedAt.IsZero() {
			created = m.CreatedAt.UnixMilli()
		}
		nid := m.NotificationID
		if nid == "" {
			nid = b.NotificationID
		}
		var id int64
		err = insert.QueryRow(
			m.Dest.Lane(), m.Dest.Sender, string(dest), m.Body, nid, m.Source, m.Route, created, ms,
		).Scan(&id)
		if err != nil {
			return nil, fmt.Errorf("insert message: %w", err)
		}
		ids = append(ids, id)
	}
	if b.DedupKey != "" {
		_, err := tx.Stmt(s.writes.rememberDedup).Exec(b.DedupKey, b.NotificationID, now.Add(s.opts.DedupTTL).UnixMilli())
		if err != nil {
			return nil, fmt.Errorf("remember dedup key: %w", err)
		}
	}
	return ids, nil
}
