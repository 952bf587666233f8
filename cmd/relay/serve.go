package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"sync"
	"syscall"

	"github.com/kelseyhightower/envconfig"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"go.uber.org/zap"

	"github.com/relayhq/relay/internal/config"
	"github.com/relayhq/relay/internal/dispatcher"
	"github.com/relayhq/relay/internal/handlers"
	"github.com/relayhq/relay/internal/intake"
	"github.com/relayhq/relay/internal/secret"
)

// serve runs the relay until ctx is done.
func serve(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) > 0 {
		return fmt.Errorf("serve takes no arguments (configure it with RELAY_* variables), got %q", args)
	}
	env, err := loadEnv()
	if err != nil {
		return err
	}
	setGCPercent(getenv)
	// One scrubber keeps every configured credential out of the log, the
	// console and upstream answers; a reload hands it the new ones.
	scrub := secret.NewScrubber(env.Secrets()...)
	logger, err := newLogger(env.LogLevel, env.LogFormat, scrub.Writer(stderr))
	if err != nil {
		return err
	}
	defer func() { _ = logger.Sync() }()

	set := newSenderSet(stdout, scrub, logger)
	kinds := relayKinds(set.printer)
	loader := &loader{env: env, getenv: getenv, kinds: kinds}
	snap, err := loader.load()
	if err != nil {
		return err
	}
	// The first line says whether anything will really be posted.
	if reason := snap.Config.DryRunReason(); reason != "" {
		logger.Warn("DRY-RUN: messages are rendered, paced and printed to stdout, not posted", zap.String("reason", reason))
	}
	ver, rev, gov := buildInfo()
	logger.Info("starting relay", zap.String("version", ver), zap.String("revision", rev),
		zap.String("listen", env.Listen), zap.String("config", env.Config))

	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		buildInfoCollector(ver, rev, gov),
	)

	store, err := openStore(ctx, env, logger)
	if err != nil {
		return err
	}
	defer func() {
		if err := store.Close(); err != nil {
			logger.Error("closing the outbox", zap.Error(err))
		}
	}()

	if err := set.swap(snap.Config); err != nil {
		return err
	}
	set.checkCredentials(ctx)
	pipeline, err := intake.New(store, snap.intake(), logger, reg)
	if err != nil {
		return err
	}
	reloader, err := newReloader(loader, pipeline, set, logger, reg)
	if err != nil {
		return err
	}
	disp, err := dispatcher.New(store, set, dispatcher.Options{MaxAge: env.MaxAge}, logger, reg)
	if err != nil {
		return err
	}
	router, err := handlers.NewRouter(handlers.Deps{
		Pipeline:    pipeline,
		DeadLetters: store,
		Ready: func(ctx context.Context) error {
			if err := store.Ping(ctx); err != nil {
				return err
			}
			return set.ready(ctx)
		},
		Reload:       reloader.reload,
		AdminToken:   env.AdminToken,
		MaxBodyBytes: env.MaxBodyBytes,
		Logger:       logger,
		Registerer:   reg,
		Gatherer:     reg,
		DirectKinds:  kinds.Direct(),
	})
	if err != nil {
		return err
	}

	// Listen before serving so that a bad address fails at once.
	ln, err := net.Listen("tcp", env.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", env.Listen, err)
	}
	srv := handlers.NewServer(env.Listen, router)
	logger.Info("listening", zap.String("addr", ln.Addr().String()))

	var wg sync.WaitGroup
	dctx, stopDispatch := context.WithCancel(context.WithoutCancel(ctx))
	defer stopDispatch()
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := disp.Run(dctx); err != nil {
			logger.Error("dispatcher stopped", zap.Error(err))
		}
	}()
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()

	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)

	var runErr error
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case <-hup:
			_ = reloader.reload(ctx)
		case err := <-serveErr:
			if !errors.Is(err, http.ErrServerClosed) {
				runErr = fmt.Errorf("serve http: %w", err)
			}
			break loop
		}
	}

	// Shutdown: stop taking requests, let in-flight posts finish, leave the
	// rest in the outbox for the next start.
	logger.Info("shutting down", zap.Duration("deadline", env.ShutdownTimeout))
	sctx, cancel := context.WithTimeout(context.Background(), env.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		logger.Warn("http shutdown", zap.Error(err))
	}
	stopDispatch()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-sctx.Done():
		logger.Warn("posts still in flight at the shutdown deadline; they will be sent again at the next start")
	}
	logger.Info("stopped")
	return runErr
}

// loadEnv reads the RELAY_* variables; it is the one place envconfig runs.
func loadEnv() (config.Env, error) {
	var env config.Env
	if err := envconfig.Process("RELAY", &env); err != nil {
		return env, fmt.Errorf("read environment: %w", err)
	}
	if err := env.ResolveFiles(os.ReadFile); err != nil {
		return env, err
	}
	if err := env.Validate(); err != nil {
		return env, err
	}
	return env, nil
}

func buildInfoCollector(ver, rev, gov string) prometheus.Collector {
	g := prometheus.NewGauge(prometheus.GaugeOpts{
		Name:        "relay_build_info",
		Help:        "A metric with a constant '1' value labeled by version, revision and goversion.",
		ConstLabels: prometheus.Labels{"version": ver, "revision": rev, "goversion": gov},
	})
	g.Set(1)
	return g
}

// defaultGCPercent is the relay's GOGC unless the environment sets one.
// Its live heap is a few MiB (the queue is on disk, not in memory), so at
// Go's default of 100 the collector ran after every few MiB allocated:
// about a tenth of the relay's CPU under ingest. At 300 that CPU per
// webhook fell by 10-15 % (docs/benchmarks.md) while the heap stays a few
// tens of MiB. GOGC and GOMEMLIMIT still work as usual.
const defaultGCPercent = 300

// setGCPercent applies defaultGCPercent if GOGC is not set, and returns
// the percent in force.
func setGCPercent(getenv func(string) string) int {
	if getenv("GOGC") != "" {
		old := debug.SetGCPercent(-1) // read the runtime's value from GOGC
		debug.SetGCPercent(old)
		return old
	}
	debug.SetGCPercent(defaultGCPercent)
	return defaultGCPercent
}
