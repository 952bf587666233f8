package handlers

import (
	"context"
	"net/http"
	"time"
)

// ops serves the probes and the reload endpoint.
type ops struct {
	ready  func(ctx context.Context) error
	reload func(ctx context.Context) error
	errs   *errorWriter
	// timeout bounds one readiness check.
	timeout time.Duration
}

// healthz serves GET /healthz: the process is up.
func (o *ops) healthz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte("ok\n"))
}

// readyz serves GET /readyz: 200 when the relay can take webhooks, else 503
// with the reason; a check that takes longer than the store timeout is a
// 503 too.
func (o *ops) readyz(w http.ResponseWriter, r *http.Request) {
	if o.ready != nil {
		ctx, cancel := context.WithTimeout(r.Context(), o.timeout)
		defer cancel()
		if err := o.ready(ctx); err != nil {
			o.errs.write(w, r, &statusError{status: http.StatusServiceUnavailable, msg: "not ready: " + err.Error()})
			return
		}
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

// reloadConfig serves POST /-/reload: reload the routes file and templates.
// A bad file is rejected (500 with the reason) and the old one stays.
func (o *ops) reloadConfig(w http.ResponseWriter, r *http.Request) {
	if err := o.reload(r.Context()); err != nil {
		o.errs.write(w, r, &statusError{status: http.StatusInternalServerError, msg: "reload failed: " + err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "reloaded"})
}
