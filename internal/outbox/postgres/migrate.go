package postgres

import (
	"context"
	_ "embed" // schema*.sql
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

//go:embed schema.sql
var schemaV1 string

//go:embed schema_v2.sql
var schemaV2 string

//go:embed schema_v3.sql
var schemaV3 string

// migrations returns the schema versions in order: migrations()[i] brings
// the schema from version i to i+1. Add new versions at the end.
func migrations() []string {
	return []string{schemaV1, schemaV2, schemaV3}
}

// migrate creates the schema if needed and applies the versions it has not
// seen, each in its own transaction with its schema_migrations row. A
// session advisory lock per schema makes replicas that start together
// migrate one after the other: the later ones find the work done.
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
	all := migrations()
	if have > len(all) {
		return fmt.Errorf("schema version %d is newer than this relay knows (%d)", have, len(all))
	}
	for v := have + 1; v <= len(all); v++ {
		err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, all[v-1]); err != nil {
				return fmt.Errorf("apply migration %d: %w", v, err)
			}
			now, err := s.clock(ctx, tx)
			if err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)`, v, now); err != nil {
				return fmt.Errorf("record migration %d: %w", v, err)
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}
