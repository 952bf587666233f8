// Package handlers is relay's HTTP layer: the webhook endpoints, previews,
// health and readiness probes, metrics, reload and the dead-letter admin
// API, with request ids, access logs, panic recovery and request metrics.
// It checks inbound auth and body size and hands webhooks to the ingest
// pipeline; every error becomes a JSON answer in one place, writeError.
package handlers

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap"

	"github.com/relayhq/relay/internal/auth"
	"github.com/relayhq/relay/internal/intake"
	"github.com/relayhq/relay/internal/outbox"
	"github.com/relayhq/relay/internal/secret"
)

// Pipeline takes webhooks in: intake.Pipeline implements it.
type Pipeline interface {
	// Accept renders and durably enqueues a webhook; the answer is 202.
	Accept(ctx context.Context, req intake.Request) (intake.Result, error)
	// Preview renders a webhook without enqueuing anything.
	Preview(ctx context.Context, req intake.Request) ([]intake.Rendered, error)
	// Auth returns the inbound auth of route, or the global one for "";
	// an *intake.Error with Code NotFound for an unknown route.
	Auth(route string) (auth.Config, error)
}

// DeadLetters lists and re-queues dead letters (the admin API).
type DeadLetters interface {
	DeadLetters(ctx context.Context, limit int) ([]outbox.DeadLetter, error)
	Requeue(ctx context.Context, ids []int64) (outbox.RequeueResult, error)
}

// Default values of Deps.
const (
	DefaultMaxBodyBytes = 1 << 20
	DefaultRetryAfter   = 10 * time.Second
)

// Deps is what the router needs. Pipeline, Logger and Registerer are
// required; the rest have defaults or turn their endpoint off.
type Deps struct {
	Pipeline Pipeline
	// DeadLetters serves the admin API; nil: the admin API answers 404.
	DeadLetters DeadLetters
	// Ready reports readiness for /readyz: nil means ready. Nil: always ready.
	Ready func(ctx context.Context) error
	// Reload reloads the routes file and templates (POST /-/reload), which
	// needs the admin token when one is set. Nil: the endpoint answers 404.
	Reload func(ctx context.Context) error
	// AdminToken guards the admin API as "Authorization: Bearer <token>".
	// Unset, the admin API answers 403.
	AdminToken secret.Secret
	// MaxBodyBytes bounds a webhook body; default DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// MaxPreviews bounds the previews rendered at once; more are answered
	// 429. Default 1, so previews never take more than one core.
	MaxPreviews int
	// RetryAfter is sent with 503 answers; default DefaultRetryAfter.
	RetryAfter time.Duration
	// StoreTimeout bounds Pipeline.Accept and Ready per request (their
	// context's deadline); default DefaultStoreTimeout, which is below the
	// server's write timeout.
	StoreTimeout time.Duration
	// Logger gets one line per request and the 5xx errors.
	Logger *zap.Logger
	// Registerer takes the HTTP metrics.
	Registerer prometheus.Registerer
	// Gatherer is served on /metrics; nil: the endpoint answers 404.
	Gatherer prometheus.Gatherer
	// Now is the clock for signed timestamps; default time.Now.
	Now func() time.Time
	// DirectKinds are the sender kinds that take direct URLs
	// (/v1/{source}/{kind}/{dest}); their names become metric labels.
	DirectKinds []string
}

// NewRouter returns relay's HTTP handler:
//
//	POST /v1/{source}/{route}                  webhook for a route of the routes file
//	POST /v1/{source}/{kind}/{dest}            webhook for a destination of a kind's built-in
//	                                           sender (/v1/alertmanager/KIND/42?template=)
//	POST /v1/preview/{source}/...              the same two, rendered but not enqueued
//	GET  /healthz, /readyz, /metrics
//	POST /-/reload                             admin token (refused when none is set)
//	GET  /api/v1/deadletters?limit=N           admin token
//	POST /api/v1/deadletters/requeue {"ids":[]} admin token
func NewRouter(d Deps) (http.Handler, error) {
	if d.Pipeline == nil || d.Logger == nil || d.Registerer == nil {
		return nil, errors.New("build router: Pipeline, Logger and Registerer are required")
	}
	if d.MaxPreviews <= 0 {
		d.MaxPreviews = 1
	}
	if d.MaxBodyBytes <= 0 {
		d.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if d.RetryAfter <= 0 {
		d.RetryAfter = DefaultRetryAfter
	}
	if d.StoreTimeout <= 0 {
		d.StoreTimeout = DefaultStoreTimeout
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	m, err := newMetrics(d.Registerer)
	if err != nil {
		return nil, err
	}
	e := &errorWriter{logger: d.Logger, retryAfter: d.RetryAfter}

	r := chi.NewRouter()
	r.NotFound(func(w http.ResponseWriter, r *http.Request) {
		e.write(w, r, &statusError{status: http.StatusNotFound, msg: "no such endpoint"})
	})
	r.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) {
		e.write(w, r, &statusError{status: http.StatusMethodNotAllowed, msg: "method not allowed"})
	})

	wh := &webhooks{pipeline: d.Pipeline, maxBody: d.MaxBodyBytes, now: d.Now, metrics: m, errs: e,
		previews: make(chan struct{}, d.MaxPreviews), storeTimeout: d.StoreTimeout,
		directKinds: map[string]bool{}}
	for _, k := range d.DirectKinds {
		wh.directKinds[k] = true
	}
	r.Route("/v1", func(r chi.Router) {
		r.Post("/preview/{source}/{kind}/{dest}", wh.handle(shapeDirect, true))
		r.Post("/preview/{source}/{route}", wh.handle(shapeRoute, true))
		r.Post("/{source}/{kind}/{dest}", wh.handle(shapeDirect, false))
		r.Post("/{source}/{route}", wh.handle(shapeRoute, false))
	})

	ops := &ops{ready: d.Ready, reload: d.Reload, errs: e, timeout: d.StoreTimeout}
	r.Get("/healthz", ops.healthz)
	r.Get("/readyz", ops.readyz)
	if d.Reload != nil {
		// Closed without an admin token, as Prometheus's is without
		// --web.enable-lifecycle: anyone who can reach the port must not
		// be able to make relay reread its files. SIGHUP always works.
		r.With(requireToken(d.AdminToken, "POST /-/reload is disabled: set RELAY_ADMIN_TOKEN to enable it, or send relay SIGHUP", e)).Post("/-/reload", ops.reloadConfig)
	}
	if d.Gatherer != nil {
		r.Method(http.MethodGet, "/metrics", promhttp.HandlerFor(d.Gatherer, promhttp.HandlerOpts{}))
	}

	if d.DeadLetters != nil {
		adm := &admin{store: d.DeadLetters, errs: e}
		r.Route("/api/v1", func(r chi.Router) {
			r.Use(requireToken(d.AdminToken, "the admin API is disabled: set RELAY_ADMIN_TOKEN to enable it", e))
			r.Get("/deadletters", adm.list)
			r.Post("/deadletters/requeue", adm.requeue)
		})
	}
	return observe(d.Logger, m, r), nil
}
