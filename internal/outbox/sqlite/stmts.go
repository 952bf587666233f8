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
// The writes keep their RETURNING clauses and run as queries, although
// Exec (LastInsertId, RowsAffected) would be lighter: with RETURNING, a
// full disk (SQLITE_FULL) undoes only the failing statement. The same
// INSERT without RETURNING, run by Exec, rolled back the whole group
// transaction instead (SQLite rolls back only statements that keep a
// statement journal), and TestGroupCommitIsolatesFailingBatch failed.
type writeStmts struct {
	savepoint, release, rollbackTo *sql.Stmt
	insertMessage                  *sql.Stmt
	lookupDedup, claimDedup        *sql.Stmt
	forgetDedup                    *sql.Stmt
}

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
		{&w.insertMessage, `INSERT INTO messages
			(lane, sender, destination, body, notification_id, source, route, created_at, available_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`},
		{&w.lookupDedup, `SELECT notification_id FROM dedup WHERE key = ? AND expires_at > ?`},
		// Inserts or takes over an expired key; returns no row if an
		// unexpired batch holds the key (expires_at > now, as lookupDedup).
		{&w.claimDedup, `INSERT INTO dedup (key, notification_id, expires_at) VALUES (?1, ?2, ?3)
			ON CONFLICT (key) DO UPDATE SET notification_id = excluded.notification_id, expires_at = excluded.expires_at
			WHERE dedup.expires_at <= ?4
			RETURNING notification_id`},
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
	for _, st := range []*sql.Stmt{w.savepoint, w.release, w.rollbackTo, w.insertMessage, w.lookupDedup, w.claimDedup, w.forgetDedup} {
		if st != nil {
			errs = append(errs, st.Close())
		}
	}
	return errors.Join(errs...)
}
