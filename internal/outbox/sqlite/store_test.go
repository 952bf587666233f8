package sqlite

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/relayhq/relay/internal/delivery"
	"github.com/relayhq/relay/internal/limiter"
	"github.com/relayhq/relay/internal/outbox"
	"github.com/relayhq/relay/internal/outbox/storetest"
)

func TestConformance(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, now func() time.Time) outbox.Store {
		return open(t, filepath.Join(t.TempDir(), "outbox.db"), Options{
			DedupTTL:  storetest.DedupTTL,
			MaxQueued: storetest.MaxQueued,
			Now:       now,
		})
	})
}

func open(t testing.TB, path string, opts Options) *Store {
	t.Helper()
	s, err := Open(context.Background(), path, opts)
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

func claimReq(room string) outbox.ClaimRequest {
	return outbox.ClaimRequest{
		Lane:     delivery.Destination{Sender: "chatwork", Address: "room/" + room}.Lane(),
		Rules:    []limiter.Rule{{Key: "room/" + room, Limit: 10, Window: 10 * time.Second}},
		MaxChars: 1000,
		Lease:    time.Hour,
	}
}

func TestOpenCreatesDirectoryAndReopenKeepsQueue(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "nested", "dir", "outbox.db")
	s, err := Open(t.Context(), path, Options{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if _, err := s.Enqueue(t.Context(), batch("1", "a", "b")); err != nil {
		t.Fatalf("Enqueue: %v", err)
	}
	// A worker claims "a" (lease 1h) and the process stops mid-post.
	if c, err := s.Claim(t.Context(), claimReq("1")); err != nil || len(c.Messages) != 1 {
		t.Fatalf("Claim = %+v, %v", c, err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	s = open(t, path, Options{})
	if got := s.Queued(); got != 2 {
		t.Errorf("Queued after reopen = %d, want 2", got)
	}
	// The lease is gone: "a" is sent again (at-least-once).
	c, err := s.Claim(t.Context(), claimReq("1"))
	if err != nil || len(c.Messages) != 1 || c.Messages[0].Body != "a" {
		t.Errorf("Claim after reopen = %+v, %v; want a", c, err)
	}
}

func TestMigrationsAreRecordedOnce(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "outbox.db")
	for range 2 {
		s, err := Open(t.Context(), path, Options{})
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		if err := s.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
	}
	s := open(t, path, Options{})
	var n, version int
	if err := s.db.QueryRow(`SELECT COUNT(*), MAX(version) FROM schema_migrations`).Scan(&n, &version); err != nil {
		t.Fatalf("read schema_migrations: %v", err)
	}
	if n != 1 || version != schemaVersion {
		t.Errorf("schema_migrations has %d rows up to version %d, want 1 row of version %d", n, version, schemaVersion)
	}
}

func TestPragmas(t *testing.T) {
	t.Parallel()
	s := open(t, filepath.Join(t.TempDir(), "outbox.db"), Options{})
	cases := []struct {
		pragma string
		want   string
	}{
		{"journal_mode", "wal"},
		{"synchronous", "2"}, // FULL
		{"foreign_keys", "1"},
		{"busy_timeout", "10000"},
		{"wal_autocheckpoint", "1000"},
		{"journal_size_limit", "4194304"},
	}
	for _, c := range cases {
		var got string
		if err := s.db.QueryRow("PRAGMA " + c.pragma).Scan(&got); err != nil {
			t.Fatalf("PRAGMA %s: %v", c.pragma, err)
		}
		if got != c.want {
			t.Errorf("PRAGMA %s = %s, want %s", c.pragma, got, c.want)
		}
	}
}

// TestFullDisk fills the database to its page cap: Enqueue and Ping must
// fail, and a batch that did not fit must leave nothing behind.
func TestFullDisk(t *testing.T) {
	t.Parallel()
	s := open(t, filepath.Join(t.TempDir(), "outbox.db"), Options{MaxPageCount: 40})
	big := strings.Repeat("x", 3000)
	var stored int
	var err error
	for range 100 {
		// Two messages per batch: the second may be the one that fails.
		if _, err = s.Enqueue(t.Context(), batch("1", big, big)); err != nil {
			break
		}
		stored += 2
	}
	if err == nil {
		t.Fatal("Enqueue never failed on a full database")
	}
	if errors.Is(err, outbox.ErrFull) {
		t.Errorf("a full disk reported as the queue cap: %v", err)
	}
	var rows int
	if qerr := s.db.QueryRow(`SELECT COUNT(*) FROM messages`).Scan(&rows); qerr != nil {
		t.Fatalf("count: %v", qerr)
	}
	if rows != stored || s.Queued() != stored {
		t.Errorf("%d rows and Queued %d after the failed batch, want %d (whole batches only)", rows, s.Queued(), stored)
	}
	if err := s.Ping(t.Context()); err == nil {
		t.Error("Ping succeeded on a full database")
	}
	// Delivering frees pages: the store takes messages again.
	c, cerr := s.Claim(t.Context(), claimReq("1"))
	if cerr != nil {
		t.Fatalf("Claim: %v", cerr)
	}
	if err := s.Ack(t.Context(), ids(c.Messages)); err != nil {
		t.Fatalf("Ack: %v", err)
	}
	if _, err := s.Enqueue(t.Context(), batch("1", "small")); err != nil {
		t.Errorf("Enqueue after freeing space: %v", err)
	}
}

// TestGroupCommitIsolatesFailingBatch puts a batch that cannot be stored
// in the same group as good ones: only it fails.
func TestGroupCommitIsolatesFailingBatch(t *testing.T) {
	t.Parallel()
	s := open(t, filepath.Join(t.TempDir(), "outbox.db"), Options{MaxPageCount: 40})
	huge := strings.Repeat("y", 200_000) // needs far more than 40 pages
	// Hold the only connection so that the batches queue up behind the
	// writer and (most likely) share a group; the outcome must be the
	// same whether they do or not.
	hold, err := s.db.BeginTx(t.Context(), nil)
	if err != nil {
		t.Fatalf("begin: %v", err)
	}
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Go(func() {
			b := batch(fmt.Sprint(i), "ok")
			if i == 3 {
				b = batch(fmt.Sprint(i), "ok", huge)
			}
			_, errs[i] = s.Enqueue(t.Context(), b)
		})
	}
	time.Sleep(50 * time.Millisecond)
	_ = hold.Rollback()
	wg.Wait()
	for i, err := range errs {
		if (i == 3) != (err != nil) {
			t.Errorf("batch %d: err = %v", i, err)
		}
	}
	var rows int
	if err := s.db.QueryRow(`SELECT COUNT(*) FROM messages`).Scan(&rows); err != nil {
		t.Fatalf("count: %v", err)
	}
	if rows != 7 || s.Queued() != 7 {
		t.Errorf("%d rows, Queued %d; want 7 (one message of each good batch)", rows, s.Queued())
	}
}

func TestSweepForgetsExpiredDedupKeys(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	s := open(t, filepath.Join(t.TempDir(), "outbox.db"), Options{DedupTTL: time.Minute, Now: clock})
	for _, key := range []string{"a", "b"} {
		b := batch("1", "x")
		b.DedupKey = key
		if _, err := s.Enqueue(t.Context(), b); err != nil {
			t.Fatalf("Enqueue: %v", err)
		}
	}
	mu.Lock()
	now = now.Add(time.Minute)
	mu.Unlock()
	n, err := s.sweep(t.Context())
	if err != nil || n != 2 {
		t.Errorf("sweep = %d, %v; want 2, nil", n, err)
	}
}

func ids(msgs []delivery.Message) []int64 {
	var out []int64
	for _, m := range msgs {
		out = append(out, m.ID)
	}
	return out
}

func TestEnqueueAfterCloseFails(t *testing.T) {
	t.Parallel()
	s, err := Open(t.Context(), filepath.Join(t.TempDir(), "outbox.db"), Options{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, err := s.Enqueue(t.Context(), batch("1", "a")); !errors.Is(err, ErrClosed) {
		t.Errorf("Enqueue after Close: err = %v, want ErrClosed", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// TestFailedBatchLeavesItsDedupKeyFree: a batch that could not be stored
// must not be remembered, or the sender's retry would be dropped as a
// duplicate. Both shapes are covered: one message (written without a
// savepoint) and several (written under one).
func TestFailedBatchLeavesItsDedupKeyFree(t *testing.T) {
	t.Parallel()
	huge := strings.Repeat("z", 200_000) // needs far more than 40 pages
	for _, c := range []struct {
		name   string
		bodies []string
	}{
		{"one message", []string{huge}},
		{"several messages", []string{"ok", huge}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			s := open(t, filepath.Join(t.TempDir(), "outbox.db"), Options{MaxPageCount: 40})
			b := batch("1", c.bodies...)
			b.DedupKey = "group-1"
			if _, err := s.Enqueue(t.Context(), b); err == nil {
				t.Fatal("Enqueue of a batch larger than the database succeeded")
			}
			var keys int
			if err := s.db.QueryRow(`SELECT COUNT(*) FROM dedup`).Scan(&keys); err != nil {
				t.Fatalf("count: %v", err)
			}
			if keys != 0 {
				t.Errorf("%d dedup keys after the failed batch, want 0", keys)
			}
			retry := batch("1", "small")
			retry.DedupKey = "group-1"
			res, err := s.Enqueue(t.Context(), retry)
			if err != nil || res.Duplicate || len(res.IDs) != 1 {
				t.Errorf("retry = %+v, %v; want one message stored, not a duplicate", res, err)
			}
		})
	}
}

// TestNewerSchemaIsRefused: a database a newer relay has migrated is not
// opened, rather than written with a schema this relay does not know.
func TestNewerSchemaIsRefused(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "outbox.db")
	s, err := Open(t.Context(), path, Options{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if _, err := s.db.Exec(`INSERT INTO schema_migrations (version, applied_at) VALUES (?, 0)`, schemaVersion+1); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = Open(t.Context(), path, Options{})
	if err == nil {
		_ = s.Close()
		t.Fatal("Open of a database at a newer schema version succeeded")
	}
	if want := fmt.Sprintf("schema version %d is newer", schemaVersion+1); !strings.Contains(err.Error(), want) {
		t.Errorf("Open: err = %v, want it to say %q", err, want)
	}
}

// TestEnqueueOnANewConnection: database/sql replaces the store's
// connection when the driver reports it bad; the store goes on writing on
// the new one.
func TestEnqueueOnANewConnection(t *testing.T) {
	t.Parallel()
	s := open(t, filepath.Join(t.TempDir(), "outbox.db"), Options{})
	if _, err := s.Enqueue(t.Context(), batch("1", "a")); err != nil {
		t.Fatalf("Enqueue: %v", err)
	}
	conn, err := s.db.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	err = conn.Raw(func(any) error {
		return driver.ErrBadConn // database/sql closes the connection
	})
	if !errors.Is(err, driver.ErrBadConn) {
		t.Fatalf("closing the connection: %v", err)
	}
	_ = conn.Close()
	if _, err := s.Enqueue(t.Context(), batch("1", "b")); err != nil {
		t.Fatalf("Enqueue on a new connection: %v", err)
	}
	var rows int
	if err := s.db.QueryRow(`SELECT COUNT(*) FROM messages`).Scan(&rows); err != nil || rows != 2 {
		t.Errorf("%d rows, %v; want 2", rows, err)
	}
}
