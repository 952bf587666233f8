package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/relayhq/relay/internal/delivery"
	"github.com/relayhq/relay/internal/outbox"
)

// querier is what the store's helpers need of a pool, connection or tx.
type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// clock returns now in Unix milliseconds: Options.Now in tests, otherwise
// the database's clock, which every replica shares.
func (s *Store) clock(ctx context.Context, q querier) (int64, error) {
	if s.opts.Now != nil {
		return s.opts.Now().UnixMilli(), nil
	}
	var ms int64
	if err := q.QueryRow(ctx, `SELECT floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint`).Scan(&ms); err != nil {
		return 0, fmt.Errorf("read database clock: %w", err)
	}
	return ms, nil
}

// boundTx makes PostgreSQL give up on any lock wait or statement of tx
// (lock_timeout, statement_timeout, for this transaction only) a little
// before ctx's deadline, if it has one: a table locked by someone else
// then fails the transaction with an error of PostgreSQL's, rolled back
// cleanly, before the caller's time is up. Cancelling ctx alone also ends
// the wait, but by closing the connection.
func boundTx(ctx context.Context, tx pgx.Tx) error {
	deadline, ok := ctx.Deadline()
	if !ok {
		return nil
	}
	left := time.Until(deadline)
	left -= min(boundMargin, left/4)
	// A lock wait gives up first, so that a locked table says so
	// (lock_not_available) rather than "statement timeout".
	statement := max(left.Milliseconds(), 2)
	lock := statement * 9 / 10
	if _, err := tx.Exec(ctx, `SELECT set_config('lock_timeout', $1, true), set_config('statement_timeout', $2, true)`,
		strconv.FormatInt(lock, 10), strconv.FormatInt(statement, 10)); err != nil {
		return fmt.Errorf("bound the transaction's time: %w", err)
	}
	return nil
}

// boundMargin is how long before a caller's deadline boundTx makes
// PostgreSQL give up (at most a quarter of the time left).
const boundMargin = 500 * time.Millisecond

// millis is t as stored: Unix milliseconds, rounded up so that a stored
// "not before" time is never earlier than the one asked for.
func millis(t time.Time) int64 {
	ms := t.UnixMilli()
	if t.After(time.UnixMilli(ms)) {
		ms++
	}
	return ms
}

// durationMillis is d in milliseconds, rounded up.
func durationMillis(d time.Duration) int64 {
	ms := d.Milliseconds()
	if time.Duration(ms)*time.Millisecond < d {
		ms++
	}
	return ms
}

// lockKey is the text whose hash names an advisory lock: the schema keeps
// stores on different schemas of one database out of each other's way.
func lockKey(schema, kind, name string) string {
	return schema + "/" + kind + "/" + name
}

// lockSorted takes the advisory transaction locks of keys (lockKey texts),
// in hash order, so that transactions locking overlapping sets never
// deadlock. The lock function is volatile, so PostgreSQL calls it after
// the sort.
const lockSorted = `SELECT count(pg_advisory_xact_lock(h)) FROM (
	SELECT DISTINCT hashtextextended(k, 0) AS h FROM unnest($1::text[]) AS k ORDER BY h
) AS locks`

// lockAll takes the advisory transaction locks of kind for names.
func (s *Store) lockAll(ctx context.Context, tx pgx.Tx, kind string, names []string) error {
	keys := make([]string, len(names))
	for i, n := range names {
		keys[i] = lockKey(s.schema, kind, n)
	}
	if _, err := tx.Exec(ctx, lockSorted, keys); err != nil {
		return fmt.Errorf("lock %s: %w", kind, err)
	}
	return nil
}

// channelName is the NOTIFY channel of schema: an identifier well under
// PostgreSQL's 63 bytes whatever the schema is called.
func channelName(schema string) string {
	h := fnv.New32a()
	_, _ = h.Write([]byte(schema))
	return fmt.Sprintf("relay_outbox_%08x", h.Sum32())
}

// notify queues a NOTIFY on the store's channel, sent when tx commits.
func (s *Store) notify(ctx context.Context, tx pgx.Tx) error {
	if _, err := tx.Exec(ctx, `SELECT pg_notify($1, '')`, s.channel); err != nil {
		return fmt.Errorf("notify: %w", err)
	}
	return nil
}

// messageColumns are the columns scanMessage reads, in its order.
const messageColumns = `id, destination, body, line, tally, notification_id, source, route, group_key, created_at, attempts, follow, solo, step`

// scanMessage reads messageColumns, plus extra destinations after them.
func scanMessage(row pgx.Row, extra ...any) (delivery.Message, error) {
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
