package main

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"github.com/jackc/pgx/v5"
	"go.uber.org/zap"

	"github.com/relayhq/relay/internal/config"
	"github.com/relayhq/relay/internal/limiter"
	"github.com/relayhq/relay/internal/outbox"
	"github.com/relayhq/relay/internal/outbox/postgres"
	"github.com/relayhq/relay/internal/outbox/sqlite"
)

// openStore opens the outbox named by RELAY_STORE.
func openStore(ctx context.Context, env config.Env, logger *zap.Logger) (outbox.Store, error) {
	raw := env.Store.Reveal()
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return nil, fmt.Errorf("RELAY_STORE: want sqlite://PATH or postgres://..., got a value without a scheme")
	}
	switch scheme {
	case "sqlite":
		path := rest
		if u, err := url.Parse(raw); err == nil && u.Path != "" && u.Host == "" {
			path = u.Path
		}
		if path == "" {
			return nil, fmt.Errorf("RELAY_STORE: sqlite:// needs a file path")
		}
		s, err := sqlite.Open(ctx, path, sqlite.Options{
			DedupTTL:     env.DedupTTL,
			MaxQueued:    env.MaxQueued,
			FollowMemory: env.FollowTTL,
			Limiter:      limiter.NewLog(),
			Logger:       logger.Named("outbox"),
		})
		if err != nil {
			return nil, fmt.Errorf("open outbox %s: %w", path, err)
		}
		logger.Info("outbox opened", zap.String("store", "sqlite"), zap.String("path", path))
		return s, nil
	case "postgres", "postgresql":
		// Parsed here only to log where the outbox is: never the password.
		cfg, err := pgx.ParseConfig(raw)
		if err != nil {
			return nil, fmt.Errorf("RELAY_STORE: %w", err)
		}
		s, err := postgres.Open(ctx, raw, postgres.Options{
			DedupTTL:     env.DedupTTL,
			MaxQueued:    env.MaxQueued,
			FollowMemory: env.FollowTTL,
			Logger:       logger.Named("outbox"),
		})
		if err != nil {
			return nil, fmt.Errorf("postgres outbox on %s/%s: %w", cfg.Host, cfg.Database, err)
		}
		logger.Info("outbox opened", zap.String("store", "postgres"), zap.String("host", cfg.Host),
			zap.Uint16("port", cfg.Port), zap.String("database", cfg.Database), zap.String("schema", s.Schema()))
		return s, nil
	}
	return nil, fmt.Errorf("RELAY_STORE: unknown scheme %q (want sqlite or postgres)", scheme)
}
