package sqlite

import (
	"context"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/relayhq/relay/internal/delivery"
	"github.com/relayhq/relay/internal/outbox"
)

// Enqueue commits the batch durably before it returns: the group
// committer's writer commits it, with whatever other batches are waiting,
// in one transaction. A batch is all or nothing, whatever happens to the
// others in its group.
func (s *Store) Enqueue(ctx context.Context, b outbox.Batch) (outbox.EnqueueResult, error) {
	if err := s.health.err(); err != nil {
		return outbox.EnqueueResult{}, err
	}
	res, err := s.group.Enqueue(ctx, b)
	if err == nil && len(res.IDs) > 0 {
		s.signal()
	}
	return res, err
}

// commitGroup is the store's outbox.CommitFunc: it writes each batch, or
// nothing of it, commits once, and answers every batch.
//
// The group is first written with the bare statements, without a
// savepoint or statement journal per batch. If one of them fails, SQLite
// may have rolled back the whole transaction, so the writer rolls back
// and writes the group again isolating each batch (savepoints, RETURNING
// statements): then only the batch that cannot be stored fails.
//
// Before it writes, it checks that the path still names the file the store
// opened (one stat): what it commits to a deleted file is lost at restart.
func (s *Store) commitGroup(group []outbox.Pending) []outbox.Answer {
	if err := s.health.checkFile(); err != nil {
		answers := make([]outbox.Answer, len(group))
		for i := range answers {
			answers[i].Err = err
		}
		return answers
	}
	answers, err := s.writeGroup(group, false)
	var again *writeAgain
	if errors.As(err, &again) {
		answers, err = s.writeGroup(group, true)
	}
	s.commits.Add(1)
	if err != nil {
		err = s.fail(fmt.Errorf("enqueue: %w", err))
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

// writeGroup writes the group in one transaction and commits it; isolate
// says whether each batch is written so that its failure leaves the others
// alone. Without isolate, a failed statement ends the group with a
// *writeAgain error and nothing committed.
func (s *Store) writeGroup(group []outbox.Pending, isolate bool) ([]outbox.Answer, error) {
	s.dedup.mu.Lock() // before the connection; see dedupIndex
	defer s.dedup.mu.Unlock()
	ctx := context.Background()
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("begin: %w", err)
	}
	defer func() { _ = conn.Close() }()
	answers := make([]outbox.Answer, len(group))
	err = conn.Raw(func(dc any) error {
		w, err := s.writesOn(dc)
		if err != nil {
			return fmt.Errorf("begin: %w", err)
		}
		return w.inTx(func() error {
			g := groupState{now: s.now(), seen: map[string]string{}, isolate: isolate}
			for i, r := range group {
				a, err := s.enqueueOne(w, &g, r)
				if err != nil {
					return err
				}
				answers[i] = a
			}
			return nil
		})
	})
	return answers, err
}

// writesOn returns the writer's statements prepared on dc, the driver
// connection database/sql holds for the store, preparing them if they are
// not. Statements of a connection database/sql has replaced are dropped,
// not closed: their connection is closed already.
func (s *Store) writesOn(dc any) (*writeStmts, error) {
	if s.writes != nil && s.writes.conn == dc {
		return s.writes, nil
	}
	conn, ok := dc.(driver.Conn)
	if !ok {
		return nil, fmt.Errorf("prepare writes: %T is not a driver connection", dc)
	}
	w, err := prepareWrites(conn)
	if err != nil {
		return nil, err
	}
	s.writes = w
	return w, nil
}

// writeAgain is the error of a statement that failed while a group was
// written without isolating its batches: the group must be written again,
// isolating them.
type writeAgain struct{ err error }

func (e *writeAgain) Error() string { return e.err.Error() }
func (e *writeAgain) Unwrap() error { return e.err }

// groupState is what one group commit knows beyond the database.
type groupState struct {
	now     time.Time
	seen    map[string]string // DedupKeys written in this group -> NotificationID
	added   int               // messages written in this group
	isolate bool              // write each batch so that its failure leaves the others alone
	dest    struct {          // the destination of the message written last
		of         delivery.Destination
		lane, json string
	}
}

// enqueueOne writes one batch, or nothing of it, and answers it. An error
// means the group must not commit.
func (s *Store) enqueueOne(w *writeStmts, g *groupState, r outbox.Pending) (outbox.Answer, error) {
	b := r.Batch
	if err := r.Ctx.Err(); err != nil {
		return outbox.Answer{Err: fmt.Errorf("enqueue: %w", err)}, nil
	}
	if id, ok := g.seen[b.DedupKey]; ok && b.DedupKey != "" {
		return duplicate(id), nil
	}
	if limit := s.opts.MaxQueued; limit > 0 && int(s.queued.Load())+g.added+len(b.Messages) > limit {
		a, err := s.fullOrDuplicate(w, g, b)
		if err != nil && !g.isolate {
			return outbox.Answer{}, &writeAgain{err}
		}
		return a, nil
	}
	first, ids, err, fail := s.writeBatch(w, g, b)
	switch {
	case fail != nil:
		return outbox.Answer{}, fail
	case err != nil && !g.isolate:
		return outbox.Answer{}, &writeAgain{err}
	case err != nil:
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

// writeBatch writes the batch: its dedup key, then its messages unless an
// unexpired batch holds the key (then it returns that batch's
// NotificationID).
//
// Written bare (g.isolate false), an error leaves the transaction unusable.
// Isolated, an error (err) undoes the batch and leaves the rest of the
// transaction usable; an error that leaves the batch half written (fail)
// fails the whole group. An isolated batch of one message (one per webhook,
// nearly always) runs no savepoint: a statement is atomic by itself, so if
// the message's insert fails, deleting the key's row undoes the claim (a key
// that was free or expired before is as good as absent). A larger batch
// writes under a savepoint and rolls back to it.
func (s *Store) writeBatch(w *writeStmts, g *groupState, b outbox.Batch) (first string, ids []int64, err, fail error) {
	savepoint := g.isolate && len(b.Messages) != 1
	if savepoint {
		if _, err := w.exec(w.savepoint); err != nil {
			return "", nil, fmt.Errorf("open savepoint: %w", err), nil
		}
	}
	var key int64 // the dedup row written, if any
	if b.DedupKey != "" {
		first, key, err = s.claimDedup(w, g, b)
	}
	if err == nil && first == "" {
		ids, err = s.insertMessages(w, g, b)
		if err != nil && g.isolate && !savepoint && key != 0 {
			if _, ferr := w.exec(w.forgetDedup, key); ferr != nil {
				// The key would outlive its message and make the sender's
				// retry a duplicate: fail the whole group instead.
				return "", nil, nil, errors.Join(err, fmt.Errorf("forget dedup key: %w", ferr))
			}
		}
	}
	if savepoint {
		if err != nil {
			if _, rerr := w.exec(w.rollbackTo); rerr != nil {
				err = errors.Join(err, fmt.Errorf("roll back batch: %w", rerr))
			}
		}
		if _, rerr := w.exec(w.release); rerr != nil && err == nil {
			err = fmt.Errorf("release savepoint: %w", rerr)
		}
	}
	return first, ids, err, nil
}

// duplicate answers a batch whose dedup key first came with notification
// first.
func duplicate(first string) outbox.Answer {
	return outbox.Answer{Result: outbox.EnqueueResult{NotificationID: first, Duplicate: true}}
}

// fullOrDuplicate answers a batch that would take the queue over its cap:
// a duplicate is answered as one, anything else is refused. The error is
// that of the look-up, also in the answer.
func (s *Store) fullOrDuplicate(w *writeStmts, g *groupState, b outbox.Batch) (outbox.Answer, error) {
	if b.DedupKey != "" {
		first, err := s.remembered(w, g.now, b.DedupKey)
		if err != nil {
			return outbox.Answer{Err: err}, err
		}
		if first != "" {
			return duplicate(first), nil
		}
	}
	return outbox.Answer{Err: fmt.Errorf("enqueue %d messages: %w", len(b.Messages), outbox.ErrFull)}, nil
}

// remembered returns the NotificationID of a committed, unexpired batch
// with key, or "".
func (s *Store) remembered(w *writeStmts, now time.Time, key string) (string, error) {
	row, found, _, err := s.findDedup(w, key)
	if err != nil {
		return "", fmt.Errorf("enqueue: look up dedup key: %w", err)
	}
	if !found || row.expires <= now.UnixMilli() {
		return "", nil
	}
	return row.notification, nil
}

// claimDedup remembers the batch's dedup key for the DedupTTL unless an
// unexpired batch holds it; then it returns that batch's NotificationID
// and changes nothing. A key an expired batch held is taken over, in its
// row. It returns the id of the row it wrote.
func (s *Store) claimDedup(w *writeStmts, g *groupState, b outbox.Batch) (first string, id int64, err error) {
	row, found, taken, err := s.findDedup(w, b.DedupKey)
	if err != nil {
		return "", 0, fmt.Errorf("enqueue: look up dedup key: %w", err)
	}
	expires := g.now.Add(s.opts.DedupTTL).UnixMilli()
	switch {
	case found && row.expires > g.now.UnixMilli():
		return row.notification, 0, nil
	case found && g.isolate:
		ok, err := w.query(w.renewDedup, w.value, b.NotificationID, expires, row.id)
		clear(w.value)
		if err == nil && !ok {
			err = errors.New("the row vanished")
		}
		if err != nil {
			return "", 0, fmt.Errorf("remember dedup key: %w", err)
		}
		return "", row.id, nil
	case found:
		if _, err := w.exec(w.bareRenewDedup, b.NotificationID, expires, row.id); err != nil {
			return "", 0, fmt.Errorf("remember dedup key: %w", err)
		}
		return "", row.id, nil
	}
	id, err = w.insertID(g.isolate, w.bareInsertDedup, w.insertDedup, b.DedupKey, b.NotificationID, expires)
	if err != nil {
		return "", 0, fmt.Errorf("remember dedup key: %w", err)
	}
	s.dedup.set(b.DedupKey, id, taken)
	return "", id, nil
}

// insertMessages inserts the batch's messages.
func (s *Store) insertMessages(w *writeStmts, g *groupState, b outbox.Batch) ([]int64, error) {
	ids := make([]int64, 0, len(b.Messages))
	for _, m := range b.Messages {
		args, err := g.messageArgs(b, m)
		if err != nil {
			return nil, err
		}
		id, err := w.insertID(g.isolate, w.bareInsertMessage, w.insertMessage, args...)
		if err != nil {
			return nil, fmt.Errorf("insert message: %w", err)
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// messageArgs are the arguments of sqlInsertMessage for m of b.
func (g *groupState) messageArgs(b outbox.Batch, m delivery.Message) ([]driver.Value, error) {
	lane, dest, err := g.encode(m.Dest)
	if err != nil {
		return nil, err
	}
	ms := g.now.UnixMilli()
	created := ms
	if !m.CreatedAt.IsZero() {
		created = m.CreatedAt.UnixMilli()
	}
	nid := m.NotificationID
	if nid == "" {
		nid = b.NotificationID
	}
	return []driver.Value{lane, m.Dest.Sender, dest, m.Body, nid, m.Source, m.Route, m.Group, created, ms}, nil
}

// encode returns d's lane and JSON, as the previous message's if it went
// to the same destination (nearly every message of a group does).
func (g *groupState) encode(d delivery.Destination) (lane, dest string, err error) {
	if g.dest.json != "" && sameDestination(g.dest.of, d) {
		return g.dest.lane, g.dest.json, nil
	}
	j, err := json.Marshal(d)
	if err != nil {
		return "", "", fmt.Errorf("encode destination: %w", err)
	}
	g.dest.of, g.dest.lane, g.dest.json = d, d.Lane(), string(j)
	return g.dest.lane, g.dest.json, nil
}

// sameDestination reports whether a and b are equal in every field.
func sameDestination(a, b delivery.Destination) bool { return a == b }
