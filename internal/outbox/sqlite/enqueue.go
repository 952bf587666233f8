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

// commitGroup is the store's outbox.CommitFunc: it writes each batch, or
// nothing of it, commits once, and answers every batch.
func (s *Store) commitGroup(group []outbox.Pending) []outbox.Answer {
	answers := make([]outbox.Answer, len(group))
	err := s.inTx(context.Background(), func(tx *sql.Tx) error {
		g := groupState{now: s.now(), seen: map[string]string{}}
		for i, r := range group {
			a, err := s.enqueueOne(tx, &g, r)
			if err != nil {
				return err
			}
			answers[i] = a
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

// enqueueOne writes one batch, or nothing of it, and answers it. An error
// means the group must not commit.
//
// A batch of one message (one per webhook, nearly always) runs two
// statements and no savepoint: claiming its dedup key and inserting the
// message. A statement is atomic by itself, so if the insert fails, deleting
// the key again undoes the claim (a key that was free or expired before is
// as good as absent). A larger batch writes under a savepoint and rolls
// back to it.
func (s *Store) enqueueOne(tx *sql.Tx, g *groupState, r outbox.Pending) (outbox.Answer, error) {
	b := r.Batch
	if err := r.Ctx.Err(); err != nil {
		return outbox.Answer{Err: fmt.Errorf("enqueue: %w", err)}, nil
	}
	if id, ok := g.seen[b.DedupKey]; ok && b.DedupKey != "" {
		return duplicate(id), nil
	}
	if limit := s.opts.MaxQueued; limit > 0 && int(s.queued.Load())+g.added+len(b.Messages) > limit {
		return s.fullOrDuplicate(tx, g, b), nil
	}
	single := len(b.Messages) == 1
	if !single {
		if _, err := tx.Stmt(s.writes.savepoint).Exec(); err != nil {
			return outbox.Answer{Err: fmt.Errorf("enqueue: open savepoint: %w", err)}, nil
		}
	}
	var ids []int64
	first, err := s.claimDedup(tx, g.now, b)
	if err == nil && first == "" {
		ids, err = s.insertMessages(tx, g.now, b)
		if err != nil && single && b.DedupKey != "" {
			if _, ferr := tx.Stmt(s.writes.forgetDedup).Exec(b.DedupKey); ferr != nil {
				// The key would outlive its message and make the sender's
				// retry a duplicate: fail the whole group instead.
				return outbox.Answer{}, errors.Join(err, fmt.Errorf("forget dedup key: %w", ferr))
			}
		}
	}
	if !single {
		if err != nil {
			if _, rerr := tx.Stmt(s.writes.rollbackTo).Exec(); rerr != nil {
				err = errors.Join(err, fmt.Errorf("roll back batch: %w", rerr))
			}
		}
		if _, rerr := tx.Stmt(s.writes.release).Exec(); rerr != nil && err == nil {
			err = fmt.Errorf("release savepoint: %w", rerr)
		}
	}
	if err != nil {
		return outbox.Answer{Err: fmt.Errorf("enqueue: %w", err)}, nil
	}
	if first != "" {
		return duplicate(first), nil
	}
	if b.DedupKey != "" {
		g.seen[b.DedupKey] = b.NotificationID
	}
	g.added += len(ids)
	return outbox.Answer{Result: outbox.EnqueueResult{NotificationID: b.NotificationID, IDs: ids}}, nil
}

// duplicate answers a batch whose dedup key first came with notification
// first.
func duplicate(first string) outbox.Answer {
	return outbox.Answer{Result: outbox.EnqueueResult{NotificationID: first, Duplicate: true}}
}

// fullOrDuplicate answers a batch that would take the queue over its cap:
// a duplicate is answered as one, anything else is refused.
func (s *Store) fullOrDuplicate(tx *sql.Tx, g *groupState, b outbox.Batch) outbox.Answer {
	if b.DedupKey != "" {
		first, err := s.remembered(tx, g.now, b.DedupKey)
		if err != nil {
			return outbox.Answer{Err: err}
		}
		if first != "" {
			return duplicate(first)
		}
	}
	return outbox.Answer{Err: fmt.Errorf("enqueue %d messages: %w", len(b.Messages), outbox.ErrFull)}
}

// remembered returns the NotificationID of a committed, unexpired batch
// with key, or "".
func (s *Store) remembered(tx *sql.Tx, now time.Time, key string) (string, error) {
	var id string
	err := tx.Stmt(s.writes.lookupDedup).QueryRow(key, now.UnixMilli()).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("enqueue: look up dedup key: %w", err)
	}
	return id, nil
}

// claimDedup remembers the batch's dedup key for the DedupTTL unless an
// unexpired batch holds it; then it returns that batch's NotificationID
// and changes nothing. One statement does both in the usual case (the key
// is new); only a duplicate costs a second, to read who holds the key.
func (s *Store) claimDedup(tx *sql.Tx, now time.Time, b outbox.Batch) (string, error) {
	if b.DedupKey == "" {
		return "", nil
	}
	var id string
	err := tx.Stmt(s.writes.claimDedup).
		QueryRow(b.DedupKey, b.NotificationID, now.Add(s.opts.DedupTTL).UnixMilli(), now.UnixMilli()).Scan(&id)
	switch {
	case err == nil:
		return "", nil
	case !errors.Is(err, sql.ErrNoRows):
		return "", fmt.Errorf("remember dedup key: %w", err)
	}
	first, err := s.remembered(tx, now, b.DedupKey)
	if err == nil && first == "" {
		err = errors.New("enqueue: dedup key neither claimed nor held")
	}
	return first, err
}

// insertMessages inserts the batch's messages.
func (s *Store) insertMessages(tx *sql.Tx, now time.Time, b outbox.Batch) ([]int64, error) {
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
	return ids, nil
}
