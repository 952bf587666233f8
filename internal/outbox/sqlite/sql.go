package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/relayhq/relay/internal/delivery"
	"github.com/relayhq/relay/internal/outbox"
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

// inIDs is the right-hand side of "id IN": the ids of one argument, a JSON
// array (idList), however many there are. An IN list of one SQL variable
// per id fails past SQLite's limit on variables (32,766).
const inIDs = `(SELECT value FROM json_each(?))`

// idList is ids as the argument of inIDs.
func idList(ids []int64) string {
	b := make([]byte, 0, 2+len(ids)*8)
	b = append(b, '[')
	for i, id := range ids {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, id, 10)
	}
	return string(append(b, ']'))
}

// messageColumns are the columns scanMessage reads, in its order.
const messageColumns = `id, destination, body, line, tally, notification_id, source, route, group_key, created_at, attempts, follow, solo, step`

type scanner interface{ Scan(dest ...any) error }

// scanMessage reads messageColumns, plus extra destinations after them.
func scanMessage(row scanner, extra ...any) (delivery.Message, error) {
	var (
		m       delivery.Message
		dest    string
		tally   string
		created int64
	)
	dst := append([]any{&m.ID, &dest, &m.Body, &m.Line, &tally, &m.NotificationID, &m.Source, &m.Route, &m.Group, &created, &m.Attempts, &m.Follow, &m.Solo, &m.Step}, extra...)
	if err := row.Scan(dst...); err != nil {
		return m, err
	}
	t, err := outbox.DecodeTally(tally)
	if err != nil {
		return m, fmt.Errorf("message %d: %w", m.ID, err)
	}
	m.Tally = t
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
