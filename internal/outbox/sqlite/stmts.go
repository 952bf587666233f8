package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// writeStmts are the statements the group-commit writer runs for every
// batch, prepared once at Open: preparing them anew in every transaction
// was a tenth of the relay's CPU under ingest. A transaction uses them
// through tx.Stmt, which reuses the preparation on the store's one
// connection (and prepares again if that connection was replaced).
//
// The writes come in two forms. The bare ones (bareInsertMessage,
// bareClaimDedup) run by Exec and are what a group is first written with:
// SQLite runs them without a statement journal or a RETURNING table, but a
// failing one (SQLITE_FULL) may roll back the whole transaction. So when
// one fails, the writer rolls back and writes the group again with the
// others (insertMessage, claimDedup), which keep their RETURNING clauses
// and run as queries: with RETURNING, SQLite keeps a statement journal and
// a full disk undoes only the failing statement, so only the failing batch
// fails (TestGroupCommitIsolatesFailingBatch).
type writeStmts struct {
	savepoint, release, rollbackTo   *sql.Stmt
	insertMessage, bareInsertMessage *sql.Stmt
	claimDedup, bareClaimDedup       *sql.Stmt
	lookupDedup, forgetDedup         *sql.Stmt
}

// The statements the two forms share: inserting a message, and
// remembering a dedup key unless an unexpired batch holds it (inserting it,
// or taking over an expired one).
const (
	sqlInsertMessage = `INSERT INTO messages
		(lane, sender, destination, body, notification_id, source, route, created_at, available_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`
	// (key, notification_id, expires_at, now); changes nothing if
	// expires_at > now, as lookupDedup sees it.
	sqlClaimDedup = `INSERT INTO dedup (key, notification_id, expires_at) VALUES (?1, ?2, ?3)
		ON CONFLICT (key) DO UPDATE SET notification_id = excluded.notification_id, expires_at = excluded.expires_at
		WHERE dedup.expires_at <= ?4`
)

// prepareWrites prepares the writer's statements on db.
func prepareWrites(ctx context.Context, db *sql.DB) (*writeStmts, error) {
	w := &writeStmts{}
	for _, p := range []struct {
		stmt **sql.Stmt
		sql  string
	}{
		{&w.savepoint, `SAVEPOINT batch`},
		{&w.release, `RELEASE SAVEPOINT batch`},
		{&w.rollbackTo, `ROLLBACK TO SAVEPOINT batch`},
		{&w.insertMessage, sqlInsertMessage + ` RETURNING id`},
		{&w.bareInsertMessage, sqlInsertMessage},
		{&w.lookupDedup, `SELECT notification_id FROM dedup WHERE key = ? AND expires_at > ?`},
		{&w.claimDedup, sqlClaimDedup + ` RETURNING notification_id`},
		{&w.bareClaimDedup, sqlClaimDedup},
		{&w.forgetDedup, `DELETE FROM dedup WHERE key = ?`},
	} {
		st, err := db.PrepareContext(ctx, p.sql)
		if err != nil {
			return nil, errors.Join(fmt.Errorf("prepare writes: %w", err), w.close())
		}
		*p.stmt = st
	}
	return w, nil
}

// close closes every prepared statement.
func (w *writeStmts) close() error {
	var errs []error
	for _, st := range []*sql.Stmt{
		w.savepoint, w.release, w.rollbackTo, w.insertMessage, w.bareInsertMessage,
		w.claimDedup, w.bareClaimDedup, w.lookupDedup, w.forgetDedup,
	} {
		if st != nil {
			errs = append(errs, st.Close())
		}
	}
	return errors.Join(errs...)
}
