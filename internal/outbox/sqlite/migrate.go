package sqlite

import (
	"context"
	"database/sql"
	_ "embed" // schema.sql
	"fmt"
	"time"
)

// schema creates every table at schemaVersion.
//
//go:embed schema.sql
var schema string

// schemaVersion is the version schema.sql creates. A later version will be
// a script of its own, applied after it in the same way.
const schemaVersion = 1

// migrate creates the schema in a database that has none, in one
// transaction with its schema_migrations row, and refuses a database whose
// schema is newer than this relay knows.
func migrate(ctx context.Context, db *sql.DB, now time.Time) error {
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)`); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	var have int
	if err := db.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&have); err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	switch {
	case have > schemaVersion:
		return fmt.Errorf("schema version %d is newer than this relay knows (%d)", have, schemaVersion)
	case have == schemaVersion:
		return nil
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin migration %d: %w", schemaVersion, err)
	}
	defer func() { _ = tx.Rollback() }()
	if _, err := tx.ExecContext(ctx, schema); err != nil {
		return fmt.Errorf("apply migration %d: %w", schemaVersion, err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`,
		schemaVersion, now.UnixMilli()); err != nil {
		return fmt.Errorf("record migration %d: %w", schemaVersion, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit migration %d: %w", schemaVersion, err)
	}
	return nil
}
