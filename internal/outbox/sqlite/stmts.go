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
// bareInsertDedup, bareRenewDedup) run by Exec and are what a group is
// first written with: SQLite runs them without a statement journal or a
// RETURNING table, but a failing one (SQLITE_FULL) may roll back the whole
// transaction. So when one fails, the writer rolls back and writes the
// group again with the others (insertMessage, insertDedup, renewDedup),
// which have RETURNING clauses and run as queries: with RETURNING, SQLite
// keeps a statement journal and a full disk undoes only the failing
// statement, so only the failing batch fails
// (TestGroupCommitIsolatesFailingBatch).
type writeStmts struct {
	conn                             driver.Conn // the connection they are prepared on
	begin, commit, rollback          driver.Stmt
	savepoint, release, rollbackTo   driver.Stmt
	insertMessage, bareInsertMessage driver.Stmt
	insertDedup, bareInsertDedup     driver.Stmt
	renewDedup, bareRenewDedup       driver.Stmt
	readDedupRow, forgetDedup        driver.Stmt

	args  []driver.NamedValue // the arguments of the statement running
	value []driver.Value      // the row of a one-column query
	dedup []driver.Value      // the row of readDedupRow
}

// The statements the two forms share: inserting a message, remembering a
// new dedup key, and giving the row of an expired key to a new batch.
const (
	sqlInsertMessage = `INSERT INTO messages
		(lane, sender, destination, body, notification_id, source, route, group_key, created_at, available_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	// (key, notification_id, expires_at)
	sqlInsertDedup = `INSERT INTO dedup (key, notification_id, expires_at) VALUES (?, ?, ?)`
	// (notification_id, expires_at, id)
	sqlRenewDedup = `UPDATE dedup SET notification_id = ?, expires_at = ? WHERE id = ?`
)

// prepareWrites prepares the writer's statements on conn, a driver
// connection of the store's database.
func prepareWrites(conn driver.Conn) (*writeStmts, error) {
	prep, ok := conn.(driver.ConnPrepareContext)
	if !ok {
		return nil, fmt.Errorf("prepare writes: the driver's connection %T cannot prepare with a context", conn)
	}
	w := &writeStmts{conn: conn, value: make([]driver.Value, 1), dedup: make([]driver.Value, 3)}
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
		{&w.insertDedup, sqlInsertDedup + ` RETURNING id`},
		{&w.bareInsertDedup, sqlInsertDedup},
		{&w.renewDedup, sqlRenewDedup + ` RETURNING id`},
		{&w.bareRenewDedup, sqlRenewDedup},
		{&w.readDedupRow, `SELECT key, notification_id, expires_at FROM dedup WHERE id = ?`},
		{&w.forgetDedup, `DELETE FROM dedup WHERE id = ?`},
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
		w.insertMessage, w.bareInsertMessage, w.insertDedup, w.bareInsertDedup,
		w.renewDedup, w.bareRenewDedup, w.readDedupRow, w.forgetDedup,
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

// query runs st with args and reads its first row into dest; ok is false
// if there is none.
func (w *writeStmts) query(st driver.Stmt, dest []driver.Value, args ...driver.Value) (ok bool, err error) {
	rows, err := st.(driver.StmtQueryContext).QueryContext(context.Background(), w.named(args))
	if err != nil {
		return false, err
	}
	err = rows.Next(dest)
	switch {
	case err == nil:
		ok = true
	case errors.Is(err, io.EOF):
		err = nil
	}
	if cerr := rows.Close(); err == nil {
		err = cerr
	}
	return ok && err == nil, err
}

// insertID runs an INSERT, the bare form by Exec or the other one, which
// returns the new row's id, as a query, and returns the new row's id.
func (w *writeStmts) insertID(isolate bool, bare, returning driver.Stmt, args ...driver.Value) (int64, error) {
	if !isolate {
		res, err := w.exec(bare, args...)
		if err != nil {
			return 0, err
		}
		return res.LastInsertId()
	}
	ok, err := w.query(returning, w.value, args...)
	v := w.value[0]
	w.value[0] = nil
	switch {
	case err != nil:
		return 0, err
	case !ok:
		return 0, errors.New("no id returned")
	}
	id, ok := v.(int64)
	if !ok {
		return 0, fmt.Errorf("id %T, want an int64", v)
	}
	return id, nil
}

// readDedup reads the dedup row id: its key, and ok false if there is no
// such row.
func (w *writeStmts) readDedup(id int64) (row dedupRow, key string, ok bool, err error) {
	ok, err = w.query(w.readDedupRow, w.dedup, id)
	if ok {
		var okKey, okNotification, okExpires bool
		key, okKey = w.dedup[0].(string)
		row.notification, okNotification = w.dedup[1].(string)
		row.expires, okExpires = w.dedup[2].(int64)
		row.id = id
		if !okKey || !okNotification || !okExpires {
			err = fmt.Errorf("dedup row %d holds %T, %T, %T", id, w.dedup[0], w.dedup[1], w.dedup[2])
		}
	}
	clear(w.dedup)
	if err != nil {
		return dedupRow{}, "", false, err
	}
	return row, key, ok, nil
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
