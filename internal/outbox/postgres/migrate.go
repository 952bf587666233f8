package postgres

import (
	"context"
	_ "embed" // schema.sql
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// schema creates every table at schemaVersion.
//
//go:embed schema.sql
var schema string

// schemaVersion is the version schema.sql creates. A later version will be
// a script of its own, applied after it in the same way.
const schemaVersion = 1

// migrate creates the schema if it has no tables, in one transaction with
// its schema_migrations row, and refuses a schema newer than this relay
// knows. A session advisory lock per schema makes replicas that start
// together migrate one after the other: the later ones find the work done.
func (s *Store) migrate(ctx context.Context, pool *pgxpool.Pool) (err error) {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("acquire connection: %w", err)
	}
	defer conn.Release()
	key := lockKey(s.schema, "migrate", "")
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock(hashtextextended($1, 0))`, key); err != nil {
		return fmt.Errorf("lock migrations: %w", err)
	}
	defer func() {
		// A fresh context: the lock must be released even if ctx ended.
		if _, uerr := conn.Exec(context.Background(), `SELECT pg_advisory_unlock(hashtextextended($1, 0))`, key); uerr != nil {
			err = errors.Join(err, fmt.Errorf("unlock migrations: %w", uerr))
		}
	}()
	ident := pgx.Identifier{s.schema}.Sanitize()
	if _, err := conn.Exec(ctx, `CREATE SCHEMA IF NOT EXISTS `+ident); err != nil {
		return fmt.Errorf("create schema %s: %w", ident, err)
	}
	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS `+ident+`.schema_migrations (
		version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)`); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	var have int
	if err := conn.QueryRow(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&have); err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	switch {
	case have > schemaVersion:
		return fmt.Errorf("schema version %d is newer than this relay knows (%d)", have, schemaVersion)
	case have == schemaVersion:
		return nil
	}
	return pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, schema); err != nil {
			return fmt.Errorf("apply migration %d: %w", schemaVersion, err)
		}
		now, err := s.clock(ctx, tx)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)`, schemaVersion, now); err != nil {
			return fmt.Errorf("record migration %d: %w", schemaVersion, err)
		}
		return nil
	})
}
