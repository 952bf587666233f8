package sqlite

import (
	"context"
	"crypto/sha256"
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
	if err := s.health.err(); err != nil {
		return outbox.EnqueueResult{}, err
	}
	res, err := s.group.Enqueue(ctx, b)
	if err == nil && len(res.IDs) > 0 {
		s.signal()
	}
	return res, err
}

// commitGroup is the store's outbox.CommitFunc: it writes each batch under
// its own savepoint, commits once, and answers every batch.
//
// Before it writes, it checks that the path still names the file the store
// opened (one stat): what it commits to a deleted file is lost at restart.
func (s *Store) commitGroup(group []outbox.Pending) []outbox.Answer {
	answers := make([]outbox.Answer, len(group))
	err := s.health.checkFile()
	if err == nil {
		err = s.writeGroup(group, answers)
		s.commits.Add(1)
		if err != nil {
			err = s.fail(fmt.Errorf("enqueue: %w", err))
			s.log.Error("outbox group commit failed", zap.Int("batches", len(group)), zap.Error(err))
		}
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

// writeGroup writes the group in one transaction and commits it, filling
// in one answer per batch. An error means nothing of the group is stored.
func (s *Store) writeGroup(group []outbox.Pending, answers []outbox.Answer) error {
	// Not a caller's context: one caller giving up must not fail the
	// others' commit.
	ctx := context.Background()
	return s.inTx(ctx, func(tx *sql.Tx) error {
		g := groupState{now: s.now(), queued: int(s.queued.Load()), st: s.enqueue.in(ctx, tx)}
		for i, r := range group {
			a, err := s.enqueueOne(ctx, &g, r)
			if err != nil {
				return err
			}
			answers[i] = a
			g.queued += len(a.Result.IDs)
		}
		return nil
	})
}

// groupState is what one group commit knows beyond the database.
type groupState struct {
	now    time.Time
	queued int           // queued messages, with those this group wrote so far
	st     *enqueueStmts // the statements, in the group's transaction
}

// enqueueStmts are the statements a group commit runs for every batch,
// prepared once at Open on the store's database.
type enqueueStmts struct {
	savepoint, rollbackTo, release *sql.Stmt
	claimDedup, dedupHolder        *sql.Stmt
	insertMessage                  *sql.Stmt
}

// stmtSQL is a statement of enqueueStmts and its SQL.
type stmtSQL struct {
	stmt **sql.Stmt
	sql  string
}

// all lists every statement with its SQL.
func (e *enqueueStmts) all() []stmtSQL {
	return []stmtSQL{
		{&e.savepoint, `SAVEPOINT batch`},
		{&e.rollbackTo, `ROLLBACK TO batch`},
		{&e.release, `RELEASE batch`},
		// (key, notification_id, expires_at, now): inserts the key, or takes
		// over the row of an expired one; changes nothing if it is held.
		{&e.claimDedup, `INSERT INTO dedup (key, notification_id, expires_at) VALUES (?, ?, ?)
			ON CONFLICT (key) DO UPDATE SET notification_id = excluded.notification_id, expires_at = excluded.expires_at
			WHERE dedup.expires_at <= ?`},
		{&e.dedupHolder, `SELECT notification_id FROM dedup WHERE key = ?`},
		// INSERT ... SELECT is an insert that may write several rows, so
		// SQLite keeps a statement journal for it
		// (https://sqlite.org/tempfiles.html, statement journals): a full
		// disk undoes this statement only, not the transaction
		// (TestGroupCommitIsolatesFailingBatch).
		{&e.insertMessage, `INSERT INTO messages
			(lane, sender, destination, body, line, tally, notification_id, source, route, group_key, created_at, available_at, follow, solo)
			SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?`},
	}
}

// prepareEnqueue prepares the group commit's statements on db.
func prepareEnqueue(ctx context.Context, db *sql.DB) (*enqueueStmts, error) {
	e := &enqueueStmts{}
	for _, st := range e.all() {
		p, err := db.PrepareContext(ctx, st.sql)
		if err != nil {
			return nil, errors.Join(fmt.Errorf("prepare enqueue: %w", err), e.close())
		}
		*st.stmt = p
	}
	return e, nil
}

// in returns the statements bound to tx.
func (e *enqueueStmts) in(ctx context.Context, tx *sql.Tx) *enqueueStmts {
	in := &enqueueStmts{}
	mine := e.all()
	for i, st := range in.all() {
		*st.stmt = tx.StmtContext(ctx, *mine[i].stmt)
	}
	return in
}

// close closes the statements prepared so far.
func (e *enqueueStmts) close() error {
	var errs []error
	for _, st := range e.all() {
		if *st.stmt != nil {
			errs = append(errs, (*st.stmt).Close())
		}
	}
	return errors.Join(errs...)
}

// enqueueOne writes one batch under a savepoint and answers it, or rolls
// the savepoint back and answers the error. An error of its own means the
// transaction is lost and the group must fail: SQLite rolls back the whole
// transaction, savepoints and all, on some errors (an I/O error, a full
// disk in a statement without a statement journal), and then the rollback
// to the savepoint fails.
func (s *Store) enqueueOne(ctx context.Context, g *groupState, r outbox.Pending) (outbox.Answer, error) {
	b := r.Batch
	if err := r.Ctx.Err(); err != nil {
		return outbox.Answer{Err: fmt.Errorf("enqueue: %w", err)}, nil
	}
	if _, err := g.st.savepoint.ExecContext(ctx); err != nil {
		return outbox.Answer{}, fmt.Errorf("open savepoint: %w", err)
	}
	res, err := s.writeBatch(ctx, g, b)
	if err != nil || res.Duplicate {
		if _, rerr := g.st.rollbackTo.ExecContext(ctx); rerr != nil {
			return outbox.Answer{}, errors.Join(err, fmt.Errorf("roll back batch: %w", rerr))
		}
	}
	if _, rerr := g.st.release.ExecContext(ctx); rerr != nil {
		return outbox.Answer{}, errors.Join(err, fmt.Errorf("release savepoint: %w", rerr))
	}
	switch {
	case errors.Is(err, outbox.ErrFull):
		return outbox.Answer{Err: err}, nil
	case err != nil:
		return outbox.Answer{Err: fmt.Errorf("enqueue: %w", err)}, nil
	}
	return outbox.Answer{Result: res}, nil
}

// writeBatch claims the batch's dedup key, checks the cap and inserts the
// messages. On a duplicate it writes nothing and says so.
func (s *Store) writeBatch(ctx context.Context, g *groupState, b outbox.Batch) (outbox.EnqueueResult, error) {
	if b.DedupKey != "" {
		first, err := s.claimDedupKey(ctx, g, b)
		if err != nil {
			return outbox.EnqueueResult{}, err
		}
		if first != "" {
			return outbox.EnqueueResult{NotificationID: first, Duplicate: true}, nil
		}
	}
	if limit := s.opts.MaxQueued; limit > 0 && g.queued+len(b.Messages) > limit {
		return outbox.EnqueueResult{}, fmt.Errorf("enqueue %d messages: %w", len(b.Messages), outbox.ErrFull)
	}
	ids := make([]int64, 0, len(b.Messages))
	for _, m := range b.Messages {
		dest, err := json.Marshal(m.Dest)
		if err != nil {
			return outbox.EnqueueResult{}, fmt.Errorf("encode destination: %w", err)
		}
		created := g.now
		if !m.CreatedAt.IsZero() {
			created = m.CreatedAt
		}
		nid := m.NotificationID
		if nid == "" {
			nid = b.NotificationID
		}
		res, err := g.st.insertMessage.ExecContext(ctx,
			m.Dest.Lane(), m.Dest.Sender, string(dest), m.Body, m.Line, outbox.EncodeTally(m.Tally), nid, m.Source, m.Route, m.Group,
			created.UnixMilli(), g.now.UnixMilli(), m.Follow, m.Solo)
		if err != nil {
			return outbox.EnqueueResult{}, fmt.Errorf("insert message: %w", err)
		}
		id, err := res.LastInsertId()
		if err != nil {
			return outbox.EnqueueResult{}, fmt.Errorf("insert message: %w", err)
		}
		ids = append(ids, id)
	}
	return outbox.EnqueueResult{NotificationID: b.NotificationID, IDs: ids}, nil
}

// claimDedupKey remembers b's key until now + DedupTTL and returns "", or
// returns the NotificationID of the unexpired batch that holds the key
// (also one written earlier in this group). A key an expired batch held is
// taken over.
func (s *Store) claimDedupKey(ctx context.Context, g *groupState, b outbox.Batch) (string, error) {
	key := dedupKey(b.DedupKey)
	res, err := g.st.claimDedup.ExecContext(ctx,
		key, b.NotificationID, g.now.Add(s.opts.DedupTTL).UnixMilli(), g.now.UnixMilli())
	if err != nil {
		return "", fmt.Errorf("remember dedup key: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return "", fmt.Errorf("remember dedup key: %w", err)
	}
	if n == 1 {
		return "", nil
	}
	var first string
	if err := g.st.dedupHolder.QueryRowContext(ctx, key).Scan(&first); err != nil {
		return "", fmt.Errorf("look up dedup key: %w", err)
	}
	return first, nil
}

// dedupKey is how the dedup table stores a DedupKey: the first 16 bytes of
// its SHA-256 (see schema.sql). Two different keys share it with a
// probability of about 2^-128 per pair.
func dedupKey(k string) []byte {
	sum := sha256.Sum256([]byte(k))
	return sum[:16]
}
