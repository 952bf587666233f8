package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/relayhq/relay/internal/delivery"
)

// millis is t as stored: Unix milliseconds, rounded up so that a stored
// "not before" time is never earlier than the one asked for.
func millis(t time.Time) int64 {
	ms := t.UnixMilli()
	if t.After(time.UnixMilli(ms)) {
		ms++
	}
	return ms
}

// inList returns "(?, ?, ...)" for n values and the ids as arguments.
func inList(ids []int64) (string, []any) {
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	return "(" + strings.TrimSuffix(strings.Repeat("?, ", len(ids)), ", ") + ")", args
}

// messageColumns are the columns scanMessage reads, in its order.
const messageColumns = `id, destination, body, notification_id, source, route, created_at, attempts`

type scanner interface{ Scan(dest ...any) error }

// scanMessage reads messageColumns, plus extra destinations after them.
func scanMessage(row scanner, extra ...any) (delivery.Message, error) {
	var (
		m       delivery.Message
		dest    string
		created int64
	)
	dst := append([]any{&m.ID, &dest, &m.Body, &m.NotificationID, &m.Source, &m.Route, &created, &m.Attempts}, extra...)
	if err := row.Scan(dst...); err != nil {
		return m, err
	}
	if err := json.Unmarshal([]byte(dest), &m.Dest); err != nil {
		return m, fmt.Errorf("decode destination of message %d: %w", m.ID, err)
	}
	m.CreatedAt = time.UnixMilli(created)
	return m, nil
}

// inTx runs fn in a transaction and commits it.
func (s *Store) inTx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}
