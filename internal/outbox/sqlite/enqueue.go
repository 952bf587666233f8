package sqlite

import (
	"context"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
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
func (s *Store) commitGroup(group []outbox.Pending) []outbox.Answer {
	answers, err := s.writeGroup(group, false)
	var again *writeAgain
	if errors.As(err, &again) {
		answers, err = s.writeGroup(group, true)
	}
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

// writeGroup writes the group in one transaction and commits it; isolate
// says whether each batch is written so that its failure leaves the others
// alone. Without isolate, a failed statement ends the group with a
// *writeAgain error and nothing committed.
func (s *Store) writeGroup(group []outbox.Pending, isolate bool) ([]outbox.Answer, error) {
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
	var (
		first string
		ids   []int64
		err   error
	)
	if g.isolate {
		var fail error
		first, ids, err, fail = s.writeIsolated(w, g, b)
		if fail != nil {
			return outbox.Answer{}, fail
		}
		if err != nil {
			return outbox.Answer{Err: fmt.Errorf("enqueue: %w", err)}, nil
		}
	} else {
		first, ids, err = s.writeBare(w, g, b)
		if err != nil {
			return outbox.Answer{}, &writeAgain{err}
		}
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

// writeBare writes the batch with the bare statements: its dedup key, then
// its messages unless another batch holds the key (then it returns that
// batch's NotificationID). An error leaves the transaction unusable.
func (s *Store) writeBare(w *writeStmts, g *groupState, b outbox.Batch) (string, []int64, error) {
	if b.DedupKey != "" {
		res, err := w.exec(w.bareClaimDedup, b.DedupKey, b.NotificationID,
			g.now.Add(s.opts.DedupTTL).UnixMilli(), g.now.UnixMilli())
		if err != nil {
			return "", nil, fmt.Errorf("remember dedup key: %w", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return "", nil, fmt.Errorf("remember dedup key: %w", err)
		}
		if n == 0 {
			first, err := s.holder(w, g.now, b.DedupKey)
			return first, nil, err
		}
	}
	ids := make([]int64, 0, len(b.Messages))
	for _, m := range b.Messages {
		args, err := g.messageArgs(b, m)
		if err != nil {
			return "", nil, err
		}
		res, err := w.exec(w.bareInsertMessage, args...)
		if err != nil {
			return "", nil, fmt.Errorf("insert message: %w", err)
		}
		id, err := res.LastInsertId()
		if err != nil {
			return "", nil, fmt.Errorf("insert message: %w", err)
		}
		ids = append(ids, id)
	}
	return "", ids, nil
}

// writeIsolated writes the batch as writeBare does, but so that an error
// (err) undoes the batch and leaves the rest of the transaction usable; an
// error that leaves the batch half written (fail) fails the whole group.
//
// A batch of one message (one per webhook, nearly always) runs two
// statements and no savepoint: claiming its dedup key and inserting the
// message. A statement is atomic by itself, so if the insert fails, deleting
// the key again undoes the claim (a key that was free or expired before is
// as good as absent). A larger batch writes under a savepoint and rolls
// back to it.
func (s *Store) writeIsolated(w *writeStmts, g *groupState, b outbox.Batch) (first string, ids []int64, err, fail error) {
	single := len(b.Messages) == 1
	if !single {
		if _, err := w.exec(w.savepoint); err != nil {
			return "", nil, fmt.Errorf("open savepoint: %w", err), nil
		}
	}
	first, err = s.claimDedup(w, g.now, b)
	if err == nil && first == "" {
		ids, err = s.insertMessages(w, g, b)
		if err != nil && single && b.DedupKey != "" {
			if _, ferr := w.exec(w.forgetDedup, b.DedupKey); ferr != nil {
				// The key would outlive its message and make the sender's
				// retry a duplicate: fail the whole group instead.
				return "", nil, nil, errors.Join(err, fmt.Errorf("forget dedup key: %w", ferr))
			}
		}
	}
	if !single {
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
	v, ok, err := w.queryValue(w.lookupDedup, key, now.UnixMilli())
	if err != nil {
		return "", fmt.Errorf("enqueue: look up dedup key: %w", err)
	}
	if !ok {
		return "", nil
	}
	id, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("enqueue: look up dedup key: notification id %T, want a string", v)
	}
	return id, nil
}

// claimDedup remembers the batch's dedup key for the DedupTTL unless an
// unexpired batch holds it; then it returns that batch's NotificationID
// and changes nothing. One statement does both in the usual case (the key
// is new); only a duplicate costs a second, to read who holds the key.
func (s *Store) claimDedup(w *writeStmts, now time.Time, b outbox.Batch) (string, error) {
	if b.DedupKey == "" {
		return "", nil
	}
	_, claimed, err := w.queryValue(w.claimDedup,
		b.DedupKey, b.NotificationID, now.Add(s.opts.DedupTTL).UnixMilli(), now.UnixMilli())
	switch {
	case err != nil:
		return "", fmt.Errorf("remember dedup key: %w", err)
	case claimed:
		return "", nil
	}
	return s.holder(w, now, b.DedupKey)
}

// holder returns the NotificationID of the batch that holds key, which a
// claim of the key found held.
func (s *Store) holder(w *writeStmts, now time.Time, key string) (string, error) {
	first, err := s.remembered(w, now, key)
	if err == nil && first == "" {
		err = errors.New("enqueue: dedup key neither claimed nor held")
	}
	return first, err
}

// insertMessages inserts the batch's messages.
func (s *Store) insertMessages(w *writeStmts, g *groupState, b outbox.Batch) ([]int64, error) {
	ids := make([]int64, 0, len(b.Messages))
	for _, m := range b.Messages {
		args, err := g.messageArgs(b, m)
		if err != nil {
			return nil, err
		}
		v, ok, err := w.queryValue(w.insertMessage, args...)
		if err == nil && !ok {
			err = errors.New("no id returned")
		}
		if err != nil {
			return nil, fmt.Errorf("insert message: %w", err)
		}
		id, ok := v.(int64)
		if !ok {
			return nil, fmt.Errorf("insert message: id %T, want an int64", v)
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
	return []driver.Value{lane, m.Dest.Sender, dest, m.Body, nid, m.Source, m.Route, created, ms}, nil
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

// sameDestination reports whether a and b are equal in every field
// (TestSameDestinationComparesEveryField holds it to that).
func sameDestination(a, b delivery.Destination) bool {
	return a.Sender == b.Sender && a.Room == b.Room && a.Panel == b.Panel &&
		a.Sealed == b.Sealed && slices.Equal(a.Users, b.Users)
}
