// Package sqlite is relay's default outbox store: one SQLite file (WAL,
// synchronous=FULL) owned by one relay process. Enqueues from concurrent
// webhooks are committed together (outbox.GroupCommitter), one synced
// transaction per group. The limiter log lives in memory, rebuilt from the
// file at Open.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/relayhq/relay/internal/limiter"
	"github.com/relayhq/relay/internal/outbox"
)

// ErrClosed is returned by Enqueue after Close.
var ErrClosed = outbox.ErrClosed

// Options tune a Store; the zero value is usable.
type Options struct {
	// DedupTTL is how long a DedupKey is remembered; default 1h.
	DedupTTL time.Duration
	// MaxQueued caps the queued (not dead) messages; 0 = unlimited.
	// Enqueue returns outbox.ErrFull when a batch would exceed it.
	MaxQueued int
	// Limiter is the log Claim takes slots in; nil = a new one.
	Limiter *limiter.Log
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Logger defaults to a no-op logger.
	Logger *zap.Logger
	// SweepEvery is how often expired dedup keys are deleted; default 1m.
	SweepEvery time.Duration
	// FollowMemory is how long a group's follow state is kept after it
	// was last written; default outbox.DefaultFollowMemory.
	FollowMemory time.Duration
	// MaxPageCount, if > 0, caps the database file at that many pages
	// (PRAGMA max_page_count): a full disk, for tests.
	MaxPageCount int
}

// Store is an outbox.Store on one SQLite file.
type Store struct {
	db      *sql.DB
	opts    Options
	log     *zap.Logger
	limiter *limiter.Log
	now     func() time.Time

	lanes   *sql.Stmt     // sqlLanes, which the dispatcher runs after every Enqueue
	enqueue *enqueueStmts // what a group commit runs

	queued  atomic.Int64 // queued (not dead) messages, for MaxQueued
	commits atomic.Int64 // group commits made, for benchmarks
	claimMu sync.Mutex   // makes limiter.Take and the claim's update one step
	group   *outbox.GroupCommitter
	wake    chan struct{}
	health  health

	quit      chan struct{}
	done      sync.WaitGroup
	closeOnce sync.Once
}

var _ outbox.Store = (*Store)(nil)

// Open opens (creating it and its parent directory if needed) the outbox
// at path, brings its schema up to date and clears every lease: this
// process owns the file, so whatever was in flight when it last stopped is
// sent again (at-least-once).
func Open(ctx context.Context, path string, opts Options) (*Store, error) {
	if opts.DedupTTL <= 0 {
		opts.DedupTTL = time.Hour
	}
	if opts.SweepEvery <= 0 {
		opts.SweepEvery = time.Minute
	}
	if opts.FollowMemory <= 0 {
		opts.FollowMemory = outbox.DefaultFollowMemory
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = zap.NewNop()
	}
	if opts.Limiter == nil {
		opts.Limiter = limiter.NewLog()
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("create outbox directory: %w", err)
	}
	db, err := sql.Open("sqlite", dsn(path, opts.MaxPageCount))
	if err != nil {
		return nil, fmt.Errorf("open outbox %s: %w", path, err)
	}
	// One connection: SQLite has one writer anyway, and a single
	// connection means no SQLITE_BUSY between this process's own
	// transactions. Reads are short.
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)

	s := &Store{
		db:      db,
		opts:    opts,
		log:     opts.Logger,
		limiter: opts.Limiter,
		now:     opts.Now,
		wake:    make(chan struct{}, 1),
		quit:    make(chan struct{}),
		health:  health{path: path, log: opts.Logger},
	}
	if err := s.init(ctx); err != nil {
		_ = db.Close()
		if isCorrupt(err) {
			return nil, errors.New(corruptMessage(path, err))
		}
		return nil, fmt.Errorf("open outbox %s: %w", path, err)
	}
	if s.health.file, err = os.Stat(path); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("open outbox %s: %w", path, err)
	}
	// The statements the dispatcher and the group commit run on every
	// call are prepared once, here.
	if s.lanes, err = db.PrepareContext(ctx, sqlLanes); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("open outbox %s: prepare lanes: %w", path, err)
	}
	if s.enqueue, err = prepareEnqueue(ctx, db); err != nil {
		_ = errors.Join(s.lanes.Close(), db.Close())
		return nil, fmt.Errorf("open outbox %s: %w", path, err)
	}
	s.group = outbox.NewGroupCommitter(s.commitGroup)
	s.done.Add(1)
	go s.sweeper()
	return s, nil
}

// WAL bounds. A commit checkpoints (copies the WAL's pages into the
// database file and syncs it) once the WAL holds walCheckpointPages frames,
// SQLite's default; the checkpointed WAL is then reused from its start and
// truncated to walSizeLimit, so it stays near 4 MiB on disk however much
// is written. A commit is synced to the WAL either way.
const (
	walCheckpointPages = 1000
	walSizeLimit       = 4 << 20
)

// dsn builds the connection string with the pragmas every connection needs.
func dsn(path string, maxPages int) string {
	q := url.Values{}
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(FULL)")
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", fmt.Sprintf("wal_autocheckpoint(%d)", walCheckpointPages))
	q.Add("_pragma", fmt.Sprintf("journal_size_limit(%d)", walSizeLimit))
	if maxPages > 0 {
		q.Add("_pragma", fmt.Sprintf("max_page_count(%d)", maxPages))
	}
	q.Set("_txlock", "immediate")
	return "file:" + path + "?" + q.Encode()
}

// sqlClearLeases ends every lease; the term claimed_until > 0 lets it read
// the leased messages from the partial messages_lane_claimed index only.
const sqlClearLeases = `UPDATE messages SET claimed_until = 0 WHERE claimed_until > 0`

// init checks the database, migrates the schema, clears leases, counts the
// queue and loads the limiter log.
func (s *Store) init(ctx context.Context) error {
	if err := quickCheck(ctx, s.db); err != nil {
		return err
	}
	if err := migrate(ctx, s.db, s.now()); err != nil {
		return err
	}
	if _, err := s.db.ExecContext(ctx, sqlClearLeases); err != nil {
		return fmt.Errorf("clear leases: %w", err)
	}
	var n int64
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM messages`).Scan(&n); err != nil {
		return fmt.Errorf("count queue: %w", err)
	}
	s.queued.Store(n)
	return s.loadLimiter(ctx)
}

// quickCheck runs PRAGMA quick_check: a corrupt database fails with an
// error that isCorrupt recognises.
func quickCheck(ctx context.Context, db *sql.DB) error {
	rows, err := db.QueryContext(ctx, `PRAGMA quick_check`)
	if err != nil {
		return fmt.Errorf("check database: %w", err)
	}
	defer func() { _ = rows.Close() }()
	var problems []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			return fmt.Errorf("check database: %w", err)
		}
		if line != "ok" && len(problems) < 3 {
			problems = append(problems, line)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("check database: %w", err)
	}
	if len(problems) > 0 {
		return &quickCheckError{problems: problems}
	}
	return nil
}

// quickCheckError is what quick_check found wrong.
type quickCheckError struct{ problems []string }

func (e *quickCheckError) Error() string {
	return "quick_check: " + strings.Join(e.problems, "; ")
}

// Close stops the writer and the sweeper and closes the database. Enqueue
// calls waiting for the writer return ErrClosed.
func (s *Store) Close() error {
	var err error
	s.closeOnce.Do(func() {
		s.group.Close()
		close(s.quit)
		s.done.Wait()
		if cerr := errors.Join(s.enqueue.close(), s.lanes.Close(), s.db.Close()); cerr != nil {
			err = fmt.Errorf("close outbox: %w", cerr)
		}
	})
	return err
}

// Wake is signalled after every Enqueue that stored messages and every
// Requeue, so idle workers look again.
func (s *Store) Wake() <-chan struct{} { return s.wake }

func (s *Store) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Pause holds a limiter key shut until `until`, in memory and on disk so
// that a restart honours it.
func (s *Store) Pause(ctx context.Context, key string, until time.Time) error {
	s.limiter.Pause(key, until)
	_, err := s.db.ExecContext(ctx, `INSERT INTO limiter_pauses (key, until) VALUES (?, ?)
		ON CONFLICT (key) DO UPDATE SET until = max(until, excluded.until)`, key, until.UnixMilli())
	if err != nil {
		return s.fail(fmt.Errorf("record pause of %s: %w", key, err))
	}
	return nil
}

// limiterMemory is how far back the limiter log on disk is kept and
// reloaded: longer than any window a sender is configured with.
const limiterMemory = time.Hour

// loadLimiter fills the in-memory limiter with the slots and pauses on
// disk, so that a restart does not forget what was posted in the windows
// still open upstream.
func (s *Store) loadLimiter(ctx context.Context) error {
	now := s.now()
	rows, err := s.db.QueryContext(ctx, `SELECT key, at FROM limiter_slots WHERE at > ? ORDER BY at`,
		now.Add(-limiterMemory).UnixMilli())
	if err != nil {
		return fmt.Errorf("load limiter slots: %w", err)
	}
	defer func() { _ = rows.Close() }()
	for rows.Next() {
		var key string
		var at int64
		if err := rows.Scan(&key, &at); err != nil {
			return fmt.Errorf("load limiter slots: %w", err)
		}
		s.limiter.Restore(key, time.UnixMilli(at))
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("load limiter slots: %w", err)
	}
	prows, err := s.db.QueryContext(ctx, `SELECT key, until FROM limiter_pauses WHERE until > ?`, now.UnixMilli())
	if err != nil {
		return fmt.Errorf("load limiter pauses: %w", err)
	}
	defer func() { _ = prows.Close() }()
	for prows.Next() {
		var key string
		var until int64
		if err := prows.Scan(&key, &until); err != nil {
			return fmt.Errorf("load limiter pauses: %w", err)
		}
		s.limiter.Pause(key, time.UnixMilli(until))
	}
	return prows.Err()
}

// Queued returns the number of queued (not dead) messages as the store
// counts them for MaxQueued.
func (s *Store) Queued() int { return int(s.queued.Load()) }
