// Package postgres is relay's outbox store for several replicas: every
// relay process on one PostgreSQL schema shares the queue, the dedup keys
// and the limiter log, so each lane is delivered in order by one replica at
// a time and the rooms' limits hold globally.
//
// Claims serialize on advisory transaction locks (one per lane, one per
// limiter key, taken in a fixed order), leases expire so that a replica that
// died mid-send hands its messages over, and LISTEN/NOTIFY wakes idle
// workers on every replica. Concurrent Enqueues are committed together by
// one writer goroutine per process (group commit), with synchronous_commit
// left on. Every limiter and lease decision uses the database's clock.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.uber.org/zap"

	"github.com/relayhq/relay/internal/outbox"
)

// ErrClosed is returned by Enqueue after Close.
var ErrClosed = outbox.ErrClosed

// Options tune a Store; the zero value is usable.
type Options struct {
	// DedupTTL is how long a DedupKey is remembered; default 1h.
	DedupTTL time.Duration
	// MaxQueued caps the queued (not dead) messages over all replicas;
	// 0 = unlimited. Enqueue returns outbox.ErrFull when a batch would
	// exceed it. Each replica checks it on its own commits, so replicas
	// enqueuing at the same instant may overshoot it by a group each.
	MaxQueued int
	// Now is a clock for tests. Production leaves it nil: every limiter,
	// lease and dedup decision then reads the database's clock, which all
	// replicas share.
	Now func() time.Time
	// Logger defaults to a no-op logger.
	Logger *zap.Logger
	// Schema is the schema the tables live in, created if missing. Empty
	// means the first schema of the connection's search_path.
	Schema string
	// SweepEvery is how often expired dedup keys, pauses and limiter slots
	// are deleted; default 1m.
	SweepEvery time.Duration
	// FollowMemory is how long a group's follow state is kept after it
	// was last written; default outbox.DefaultFollowMemory.
	FollowMemory time.Duration
}

// Store is an outbox.Store on a PostgreSQL schema shared by replicas.
type Store struct {
	pool    *pgxpool.Pool
	opts    Options
	log     *zap.Logger
	schema  string
	channel string // NOTIFY channel of the schema

	group *outbox.GroupCommitter
	wake  chan struct{}
	// depth caches the queue's size for MaxQueued; only the group-commit
	// writer goroutine touches it.
	depth queueDepth

	quit      chan struct{}
	stop      context.CancelFunc // ends the listener's wait
	done      sync.WaitGroup
	closeOnce sync.Once
}

var _ outbox.Store = (*Store)(nil)

// Open connects to the database at url, brings the schema up to date
// (safely while other replicas start too) and starts the group-commit
// writer, the NOTIFY listener and the sweeper. Unlike the SQLite store it
// keeps leases: they may belong to replicas still sending.
func Open(ctx context.Context, url string, opts Options) (*Store, error) {
	if opts.DedupTTL <= 0 {
		opts.DedupTTL = time.Hour
	}
	if opts.SweepEvery <= 0 {
		opts.SweepEvery = time.Minute
	}
	if opts.FollowMemory <= 0 {
		opts.FollowMemory = outbox.DefaultFollowMemory
	}
	if opts.Logger == nil {
		opts.Logger = zap.NewNop()
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// pgx's parse errors redact the password.
		return nil, fmt.Errorf("parse outbox url: %w", err)
	}
	if opts.Schema != "" {
		cfg.ConnConfig.RuntimeParams["search_path"] = pgx.Identifier{opts.Schema}.Sanitize()
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect outbox: %w", err)
	}
	s := &Store{
		pool: pool,
		opts: opts,
		log:  opts.Logger,
		wake: make(chan struct{}, 1),
		quit: make(chan struct{}),
	}
	if err := s.init(ctx, cfg); err != nil {
		pool.Close()
		return nil, fmt.Errorf("open outbox: %w", err)
	}
	listenCtx, stop := context.WithCancel(context.Background())
	s.stop = stop
	s.group = outbox.NewGroupCommitter(s.commitGroup)
	s.done.Add(2)
	go s.sweeper()
	go s.listen(listenCtx, cfg.ConnConfig)
	return s, nil
}

// init finds the schema and migrates it.
func (s *Store) init(ctx context.Context, cfg *pgxpool.Config) error {
	s.schema = s.opts.Schema
	if s.schema == "" {
		s.schema = firstSchema(cfg.ConnConfig.RuntimeParams["search_path"])
	}
	if s.schema == "" {
		var current *string
		if err := s.pool.QueryRow(ctx, `SELECT current_schema()`).Scan(&current); err != nil {
			return fmt.Errorf("read current schema: %w", err)
		}
		if current == nil {
			return errors.New("no schema: set Options.Schema or a search_path naming one")
		}
		s.schema = *current
	}
	s.channel = channelName(s.schema)
	return s.migrate(ctx, s.pool)
}

// firstSchema returns the first schema of a search_path setting, or "" for
// none or "$user".
func firstSchema(searchPath string) string {
	first, _, _ := strings.Cut(searchPath, ",")
	first = strings.TrimSpace(first)
	if strings.HasPrefix(first, `"`) && strings.HasSuffix(first, `"`) && len(first) >= 2 {
		first = strings.ReplaceAll(first[1:len(first)-1], `""`, `"`)
	}
	if first == "$user" {
		return ""
	}
	return first
}

// Close stops the writer, the listener and the sweeper and closes the
// pool. Enqueue calls waiting for the writer return ErrClosed.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.group.Close()
		close(s.quit)
		s.stop()
		s.done.Wait()
		s.pool.Close()
	})
	return nil
}

// Wake is signalled after every Enqueue, Requeue and Retry of any replica
// on the schema, so idle workers look again.
func (s *Store) Wake() <-chan struct{} { return s.wake }

func (s *Store) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Schema returns the schema the store's tables live in.
func (s *Store) Schema() string { return s.schema }
