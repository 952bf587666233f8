package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/relayhq/relay/internal/delivery"
	"github.com/relayhq/relay/internal/limiter"
	"github.com/relayhq/relay/internal/outbox"
	"github.com/relayhq/relay/internal/outbox/storetest"
	"github.com/relayhq/relay/internal/testenv"
)

func TestConformance(t *testing.T) {
	t.Parallel()
	url := testenv.Lookup(t, testenv.PostgresURL)
	storetest.Run(t, func(t *testing.T, now func() time.Time) outbox.Store {
		return open(t, url, Options{
			DedupTTL:  storetest.DedupTTL,
			MaxQueued: storetest.MaxQueued,
			Now:       now,
			Schema:    newSchema(t, url),
		})
	})
}

// newSchema names a fresh schema for one test and drops it when the test
// ends, so tests sharing the database never see each other's rows.
func newSchema(t testing.TB, url string) string {
	t.Helper()
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := "relay_test_" + hex.EncodeToString(b)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, url)
		if err != nil {
			t.Errorf("connect to drop schema: %v", err)
			return
		}
		defer func() { _ = conn.Close(ctx) }()
		if _, err := conn.Exec(ctx, `DROP SCHEMA IF EXISTS `+pgx.Identifier{schema}.Sanitize()+` CASCADE`); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	return schema
}

// open opens a store and closes it when the test ends (before its schema
// is dropped: cleanups run last-in first-out).
func open(t testing.TB, url string, opts Options) *Store {
	t.Helper()
	s, err := Open(context.Background(), url, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func batch(room string, bodies ...string) outbox.Batch {
	b := outbox.Batch{NotificationID: "n-" + room}
	for _, body := range bodies {
		b.Messages = append(b.Messages, delivery.Message{
			Dest: delivery.Destination{Sender: "chatwork", Address: "room/" + room},
			Body: body,
		})
	}
	return b
}

func claimReq(room string, limit int, lease time.Duration) outbox.ClaimRequest {
	return outbox.ClaimRequest{
		Lane:         delivery.Destination{Sender: "chatwork", Address: "room/" + room}.Lane(),
		Rules:        []limiter.Rule{{Key: "chatwork/room/" + room, Limit: limit, Window: 10 * time.Second}},
		MaxChars:     65535,
		SeparatorLen: 2,
		Lease:        lease,
	}
}

func ids(msgs []delivery.Message) []int64 {
	var out []int64
	for _, m := range msgs {
		out = append(out, m.ID)
	}
	return out
}

// lockTable holds an ACCESS EXCLUSIVE lock on table of schema, in an open
// transaction of another connection, until the test ends.
func lockTable(t *testing.T, url, schema, table string) {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	tx, err := conn.Begin(t.Context())
	if err != nil {
		t.Fatalf("begin: %v", err)
	}
	if _, err := tx.Exec(t.Context(), `LOCK TABLE `+pgx.Identifier{schema, table}.Sanitize()+` IN ACCESS EXCLUSIVE MODE`); err != nil {
		t.Fatalf("lock %s: %v", table, err)
	}
	t.Cleanup(func() {
		_ = tx.Rollback(context.Background())
		_ = conn.Close(context.Background())
	})
}

// TestLockedTableFailsWithinTheCallersDeadline: with the queue's table
// locked by someone else, an Enqueue and a Ping with a deadline (a
// webhook's, a readiness probe's) fail by it, because PostgreSQL itself
// gives up on the lock (lock_timeout), not after the lock is released.
func TestLockedTableFailsWithinTheCallersDeadline(t *testing.T) {
	t.Parallel()
	url := testenv.Lookup(t, testenv.PostgresURL)
	schema := newSchema(t, url)
	s := open(t, url, Options{Schema: schema})
	lockTable(t, url, schema, "messages")
	lockTable(t, url, schema, "heartbeat")

	const deadline = 2 * time.Second
	for _, c := range []struct {
		name string
		call func(ctx context.Context) error
	}{
		{"Enqueue", func(ctx context.Context) error { _, err := s.Enqueue(ctx, batch("1", "a")); return err }},
		{"Ping", s.Ping},
	} {
		ctx, cancel := context.WithTimeout(t.Context(), deadline)
		began := time.Now()
		err := c.call(ctx)
		took := time.Since(began)
		cancel()
		var pe *pgconn.PgError
		if !errors.As(err, &pe) || pe.Code != "55P03" {
			t.Errorf("%s on a locked table = %v, want PostgreSQL's lock_not_available (55P03)", c.name, err)
		}
		// The lock is held until the test ends: returning at all shows the
		// bound; the margin covers a loaded machine.
		if took > deadline+time.Second {
			t.Errorf("%s returned after %v, want within its %v deadline", c.name, took, deadline)
		}
	}
}
