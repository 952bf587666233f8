package sqlite

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/relayhq/relay/internal/outbox"
	"github.com/relayhq/relay/internal/outbox/storetest"
)

// TestDeletedFileBreaksTheStore: an outbox whose file is deleted while
// relay runs would accept webhooks into a file gone at restart. Ping
// fails, saying why, Enqueue fails with ErrBroken (the handlers answer
// 503), and the log says why, once.
func TestDeletedFileBreaksTheStore(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "outbox.db")
	core, logs := observer.New(zap.ErrorLevel)
	s := open(t, path, Options{Logger: zap.New(core)})
	if _, err := s.Enqueue(t.Context(), batch("1", "a")); err != nil {
		t.Fatalf("Enqueue: %v", err)
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Fatal(err)
		}
	}
	err := s.Ping(t.Context())
	if err == nil || !errors.Is(err, outbox.ErrBroken) ||
		!strings.Contains(err.Error(), "outbox file "+path+" was deleted or replaced; restart relay to recreate it") {
		t.Fatalf("Ping after deleting the file = %v, want ErrBroken saying it was deleted", err)
	}
	if _, err := s.Enqueue(t.Context(), batch("1", "b")); !errors.Is(err, outbox.ErrBroken) {
		t.Errorf("Enqueue after deleting the file = %v, want ErrBroken", err)
	}
	if err := s.Ping(t.Context()); !errors.Is(err, outbox.ErrBroken) {
		t.Errorf("second Ping = %v, want ErrBroken (sticky)", err)
	}
	if n := logs.FilterMessageSnippet("outbox is broken").Len(); n != 1 {
		t.Errorf("logged the broken outbox %d times, want once", n)
	}
}

// TestDeletedFileFailsEnqueueWithoutPing: the group commit checks the
// file itself, so no webhook is answered 202 into a deleted file even
// before a readiness probe notices.
func TestDeletedFileFailsEnqueueWithoutPing(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "outbox.db")
	s := open(t, path, Options{})
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Enqueue(t.Context(), batch("1", "a")); !errors.Is(err, outbox.ErrBroken) {
		t.Errorf("Enqueue after deleting the file = %v, want ErrBroken", err)
	}
}

// TestReplacedFileBreaksTheStore: a different file at the path (a restore
// over a running relay) is not the database the store writes to.
func TestReplacedFileBreaksTheStore(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "outbox.db")
	s := open(t, path, Options{})
	other := filepath.Join(dir, "other.db")
	if err := os.WriteFile(other, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(other, path); err != nil {
		t.Fatal(err)
	}
	if err := s.Ping(t.Context()); !errors.Is(err, outbox.ErrBroken) || !strings.Contains(err.Error(), "deleted or replaced") {
		t.Errorf("Ping after replacing the file = %v, want ErrBroken saying it was replaced", err)
	}
}

// fill enqueues about size bytes of messages, acks none, and checkpoints
// the WAL into the database file.
func fill(t *testing.T, s *Store, size int) {
	t.Helper()
	bodies := make([]string, 25)
	for i := range bodies {
		bodies[i] = strings.Repeat("x", 4000)
	}
	for i := 0; i < size/(4000*len(bodies))+1; i++ {
		if _, err := s.Enqueue(t.Context(), batch("1", bodies...)); err != nil {
			t.Fatalf("Enqueue: %v", err)
		}
	}
	if _, err := s.db.ExecContext(t.Context(), `PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		t.Fatalf("checkpoint: %v", err)
	}
}

// garble writes garbage over every page of the file but the first.
func garble(t *testing.T, path string) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	junk := []byte(strings.Repeat("\xde\xad\xbe\xef", 1024))
	for off := int64(4096); off < fi.Size(); off += int64(len(junk)) {
		if _, err := f.WriteAt(junk, off); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestCorruptDatabaseIsRefusedAtOpen: garbage over the pages of a real
// outbox, a file cut short, or a file that is no database: Open fails with
// a message naming the path and saying it is corrupt.
func TestCorruptDatabaseIsRefusedAtOpen(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		corrupt func(t *testing.T, path string)
	}{
		{"garbage over its pages", garble},
		{"truncated", func(t *testing.T, path string) {
			fi, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.Truncate(path, fi.Size()/2); err != nil {
				t.Fatal(err)
			}
		}},
		{"not a database", func(t *testing.T, path string) {
			if err := os.WriteFile(path, []byte(strings.Repeat("not sqlite ", 1000)), 0o600); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "outbox.db")
			s, err := Open(t.Context(), path, Options{})
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			fill(t, s, 400<<10)
			if err := s.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			c.corrupt(t, path)
			s, err = Open(t.Context(), path, Options{})
			if err == nil {
				_ = s.Close()
				t.Fatal("Open of a corrupt outbox succeeded")
			}
			if want := "outbox database " + path + " is corrupt"; !strings.Contains(err.Error(), want) {
				t.Errorf("Open = %v, want it to say %q", err, want)
			}
		})
	}
}

// TestCorruptedWhileOpenFailsPing: pages corrupted under a running store
// fail the statement that reads them; from then on Ping fails saying the
// database is corrupt, and Enqueue fails.
func TestCorruptedWhileOpenFailsPing(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "outbox.db")
	s := open(t, path, Options{})
	fill(t, s, 8<<20) // larger than the page cache, so reads go to the file
	garble(t, path)
	if _, err := s.Stats(t.Context()); err == nil {
		t.Fatal("Stats over corrupt pages succeeded")
	}
	err := s.Ping(t.Context())
	if !errors.Is(err, outbox.ErrBroken) || !strings.Contains(err.Error(), "outbox database "+path+" is corrupt") {
		t.Errorf("Ping = %v, want ErrBroken saying the database is corrupt", err)
	}
	if _, err := s.Enqueue(t.Context(), batch("1", "a")); !errors.Is(err, outbox.ErrBroken) {
		t.Errorf("Enqueue = %v, want ErrBroken", err)
	}
}

// TestWALStaysBounded: many enqueues and acks leave a WAL file of about
// walSizeLimit, not the high-water mark of a larger checkpoint interval.
func TestWALStaysBounded(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "outbox.db")
	s := open(t, path, Options{})
	bodies := make([]string, 25)
	for i := range bodies {
		bodies[i] = strings.Repeat("y", 4000)
	}
	largest := int64(0)
	for i := range 250 { // about 25 MB written
		res, err := s.Enqueue(t.Context(), batch("1", bodies...))
		if err != nil {
			t.Fatalf("Enqueue: %v", err)
		}
		if err := s.Ack(t.Context(), res.IDs); err != nil {
			t.Fatalf("Ack: %v", err)
		}
		if i%5 == 0 {
			fi, err := os.Stat(path + "-wal")
			if err != nil {
				t.Fatal(err)
			}
			largest = max(largest, fi.Size())
		}
	}
	// Checkpoints start at 1000 frames of 4 KiB (4 MiB); a commit or two
	// more may land before the WAL is truncated.
	if limit := int64(5 << 20); largest > limit {
		t.Errorf("WAL grew to %d bytes, want at most %d", largest, limit)
	}
}

// TestSweepForgetsOldGroupPosts: group_posts rows older than
// outbox.GroupPostMemory are swept.
func TestSweepForgetsOldGroupPosts(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s := open(t, filepath.Join(t.TempDir(), "outbox.db"), Options{Now: func() time.Time { return now }})
	b := batch("1", "a")
	b.Messages[0].Group = "g"
	res, err := s.Enqueue(t.Context(), b)
	if err != nil {
		t.Fatalf("Enqueue: %v", err)
	}
	if err := s.Ack(t.Context(), res.IDs); err != nil {
		t.Fatalf("Ack: %v", err)
	}
	count := func() int {
		var n int
		if err := s.db.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM group_posts`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	now = now.Add(outbox.GroupPostMemory - time.Millisecond)
	if _, err := s.sweep(t.Context()); err != nil || count() != 1 {
		t.Fatalf("sweep within GroupPostMemory: %v, %d rows, want 1", err, count())
	}
	now = now.Add(time.Millisecond)
	if _, err := s.sweep(t.Context()); err != nil || count() != 0 {
		t.Fatalf("sweep after GroupPostMemory: %v, %d rows, want 0", err, count())
	}
}

// TestSweepForgetsOldFollowStates: group_follows rows not written for the
// store's FollowMemory are swept; a write keeps a row for another one.
func TestSweepForgetsOldFollowStates(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	const memory = 48 * time.Hour
	s := open(t, filepath.Join(t.TempDir(), "outbox.db"), Options{Now: func() time.Time { return now }, FollowMemory: memory})
	storetest.FollowStatesSwept(t, s, memory, func(d time.Duration) { now = now.Add(d) }, func(ctx context.Context) error {
		_, err := s.sweep(ctx)
		return err
	})
}
