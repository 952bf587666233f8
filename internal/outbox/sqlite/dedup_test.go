package sqlite

import (
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/relayhq/relay/internal/outbox"
)

// dedupFixture is a store on a clock the test moves, with a dedup TTL of a
// minute.
type dedupFixture struct {
	t     *testing.T
	path  string
	s     *Store
	mu    sync.Mutex
	now   time.Time
	opts  Options
	batch int
}

func newDedupFixture(t *testing.T, opts Options) *dedupFixture {
	f := &dedupFixture{t: t, path: filepath.Join(t.TempDir(), "outbox.db"), now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	opts.DedupTTL = time.Minute
	opts.Now = f.clock
	f.opts = opts
	f.s = open(t, f.path, opts)
	return f
}

func (f *dedupFixture) clock() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *dedupFixture) advance(d time.Duration) {
	f.mu.Lock()
	f.now = f.now.Add(d)
	f.mu.Unlock()
}

// enqueue enqueues a new batch with key and returns the answer.
func (f *dedupFixture) enqueue(key string, bodies ...string) (outbox.EnqueueResult, error) {
	f.t.Helper()
	f.batch++
	b := batch("1", bodies...)
	b.NotificationID = "n-" + key + "-" + string(rune('a'+f.batch-1))
	b.DedupKey = key
	return f.s.Enqueue(f.t.Context(), b)
}

// stored enqueues key and fails unless it was stored; it returns the
// batch's NotificationID.
func (f *dedupFixture) stored(key string) string {
	f.t.Helper()
	res, err := f.enqueue(key, "x")
	if err != nil || res.Duplicate || len(res.IDs) != 1 {
		f.t.Fatalf("Enqueue %s = %+v, %v; want it stored", key, res, err)
	}
	return res.NotificationID
}

// duplicate enqueues key and fails unless it was answered as a duplicate
// of first.
func (f *dedupFixture) duplicate(key, first string) {
	f.t.Helper()
	res, err := f.enqueue(key, "x")
	if err != nil || !res.Duplicate || res.NotificationID != first {
		f.t.Fatalf("Enqueue %s = %+v, %v; want a duplicate of %s", key, res, err, first)
	}
}

func (f *dedupFixture) sweep(want int64) {
	f.t.Helper()
	if n, err := f.s.sweep(f.t.Context()); err != nil || n != want {
		f.t.Fatalf("sweep = %d, %v; want %d", n, err, want)
	}
}

// TestDedupKeyClaimedAgainAfterSweep: a swept key's row id is reused by
// the next row; the key claimed again is found as a duplicate.
func TestDedupKeyClaimedAgainAfterSweep(t *testing.T) {
	t.Parallel()
	f := newDedupFixture(t, Options{})
	f.stored("k")
	f.advance(time.Minute)
	f.sweep(1)
	again := f.stored("k")
	f.duplicate("k", again)
	var rows int
	if err := f.s.db.QueryRow(`SELECT COUNT(*) FROM dedup WHERE key = ?`, dedupKey("k")).Scan(&rows); err != nil || rows != 1 {
		t.Errorf("%d rows of k, %v; want 1", rows, err)
	}
}

// TestDedupAtTheQueueCap: over MaxQueued a duplicate is still answered as
// one; anything else is refused.
func TestDedupAtTheQueueCap(t *testing.T) {
	t.Parallel()
	f := newDedupFixture(t, Options{MaxQueued: 1})
	first := f.stored("k")
	f.duplicate("k", first)
	if _, err := f.enqueue("other", "x"); !errors.Is(err, outbox.ErrFull) {
		t.Errorf("Enqueue over the cap: err = %v, want ErrFull", err)
	}
}

// TestFailedBatchFreesTheExpiredKeyItTookOver: a batch that takes over an
// expired key and cannot be stored leaves the key free for its retry.
func TestFailedBatchFreesTheExpiredKeyItTookOver(t *testing.T) {
	t.Parallel()
	f := newDedupFixture(t, Options{MaxPageCount: 40})
	f.stored("k")
	f.advance(time.Minute)
	huge := strings.Repeat("z", 200_000) // needs far more than 40 pages
	for _, bodies := range [][]string{{huge}, {"ok", huge}} {
		if _, err := f.enqueue("k", bodies...); err == nil {
			t.Fatal("Enqueue of a batch larger than the database succeeded")
		}
	}
	again := f.stored("k")
	f.duplicate("k", again)
}
