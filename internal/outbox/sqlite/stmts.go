package sqlite

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
)

// writeStmts are the statements the group-commit writer runs for every
// batch, prepared once on the store's one connection. The writer runs them
// on the driver's connection itself (sql.Conn.Raw), not through
// database/sql: its layers per transaction and statement (a goroutine per
// transaction, a Stmt per transaction and statement, argument conversion,
// Rows) were a tenth of the writer's CPU. They belong to that connection:
// if database/sql replaces it, the writer prepares them again on the new
// one.
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
	conn                             driver.Conn // the connection they are prepared on
	begin, commit, rollback          driver.Stmt
	savepoint, release, rollbackTo   driver.Stmt
	insertMessage, bareInsertMessage driver.Stmt
	claimDedup, bareClaimDedup       driver.Stmt
	lookupDedup, forgetDedup         driver.Stmt

	args []driver.NamedValue // the arguments of the statement running
	row  []driver.Value      // the one column a query returns
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

// prepareWrites prepares the writer's statements on conn, a driver
// connection of the store's database.
func prepareWrites(conn driver.Conn) (*writeStmts, error) {
	prep, ok := conn.(driver.ConnPrepareContext)
	if !ok {
		return nil, fmt.Errorf("prepare writes: the driver's connection %T cannot prepare with a context", conn)
	}
	w := &writeStmts{conn: conn, row: make([]driver.Value, 1)}
	for _, p := range []struct {
		stmt *driver.Stmt
		sql  string
	}{
		// BEGIN IMMEDIATE, as database/sql transactions on the store begin
		// (_txlock=immediate): the write lock is taken at once.
		{&w.begin, `BEGIN IMMEDIATE`},
		{&w.commit, `COMMIT`},
		{&w.rollback, `ROLLBACK`},
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
		st, err := prep.PrepareContext(context.Background(), p.sql)
		if err != nil {
			return nil, errors.Join(fmt.Errorf("prepare writes: %w", err), w.close())
		}
		_, execs := st.(driver.StmtExecContext)
		_, queries := st.(driver.StmtQueryContext)
		if !execs || !queries {
			return nil, errors.Join(fmt.Errorf("prepare writes: the driver's statement %T cannot run with a context", st),
				st.Close(), w.close())
		}
		*p.stmt = st
	}
	return w, nil
}

// close closes every prepared statement. The connection must be open.
func (w *writeStmts) close() error {
	var errs []error
	for _, st := range []driver.Stmt{
		w.begin, w.commit, w.rollback, w.savepoint, w.release, w.rollbackTo,
		w.insertMessage, w.bareInsertMessage, w.claimDedup, w.bareClaimDedup, w.lookupDedup, w.forgetDedup,
	} {
		if st != nil {
			errs = append(errs, st.Close())
		}
	}
	return errors.Join(errs...)
}

// inTx runs fn in a transaction and commits it; if fn fails, or the commit
// does, it rolls back.
func (w *writeStmts) inTx(fn func() error) (err error) {
	if _, err := w.exec(w.begin); err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	done := false
	defer func() {
		if !done {
			// A statement that failed may have rolled back the transaction
			// already; then this fails, and there is nothing to undo.
			_, _ = w.exec(w.rollback)
		}
	}()
	if err := fn(); err != nil {
		return err
	}
	if _, err := w.exec(w.commit); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	done = true
	return nil
}

// exec runs st with args.
func (w *writeStmts) exec(st driver.Stmt, args ...driver.Value) (driver.Result, error) {
	return st.(driver.StmtExecContext).ExecContext(context.Background(), w.named(args))
}

// queryValue runs st with args and returns the one column of its first
// row; ok is false if there is none.
func (w *writeStmts) queryValue(st driver.Stmt, args ...driver.Value) (v driver.Value, ok bool, err error) {
	rows, err := st.(driver.StmtQueryContext).QueryContext(context.Background(), w.named(args))
	if err != nil {
		return nil, false, err
	}
	err = rows.Next(w.row)
	switch {
	case err == nil:
		v, ok = w.row[0], true
	case errors.Is(err, io.EOF):
		err = nil
	}
	if cerr := rows.Close(); err == nil {
		err = cerr
	}
	w.row[0] = nil
	if err != nil {
		return nil, false, err
	}
	return v, ok, nil
}

// named returns args as the driver takes them, in a slice reused by the
// next statement.
func (w *writeStmts) named(args []driver.Value) []driver.NamedValue {
	w.args = w.args[:0]
	for i, a := range args {
		w.args = append(w.args, driver.NamedValue{Ordinal: i + 1, Value: a})
	}
	return w.args
}
