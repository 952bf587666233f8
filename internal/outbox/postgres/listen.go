package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"go.uber.org/zap"
)

// Backoff between attempts to (re)connect the listener.
const (
	listenMinBackoff = 100 * time.Millisecond
	listenMaxBackoff = 30 * time.Second
)

// listen holds a dedicated connection that LISTENs on the schema's channel
// and signals Wake for every notification, so idle workers on every
// replica learn of enqueues without polling. On error it reconnects with
// backoff and signals once, as notifications may have been missed.
func (s *Store) listen(ctx context.Context, cfg *pgx.ConnConfig) {
	defer s.done.Done()
	backoff := listenMinBackoff
	for {
		start := time.Now()
		err := s.listenOnce(ctx, cfg)
		if ctx.Err() != nil {
			return
		}
		if time.Since(start) > listenMaxBackoff {
			backoff = listenMinBackoff
		}
		s.log.Warn("outbox listener lost its connection; reconnecting",
			zap.Duration("backoff", backoff), zap.Error(err))
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, listenMaxBackoff)
	}
}

// listenOnce connects, listens and forwards notifications until an error.
func (s *Store) listenOnce(ctx context.Context, cfg *pgx.ConnConfig) error {
	conn, err := pgx.ConnectConfig(ctx, cfg.Copy())
	if err != nil {
		return fmt.Errorf("connect listener: %w", err)
	}
	defer func() {
		closeCtx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = conn.Close(closeCtx)
	}()
	if _, err := conn.Exec(ctx, `LISTEN `+pgx.Identifier{s.channel}.Sanitize()); err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	// Whatever was notified while not listening is looked at now.
	s.signal()
	for {
		if _, err := conn.WaitForNotification(ctx); err != nil {
			return fmt.Errorf("wait for notification: %w", err)
		}
		s.signal()
	}
}
