package handlers

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"go.uber.org/zap"

	"github.com/relayhq/relay/internal/auth"
	"github.com/relayhq/relay/internal/intake"
)

// statusError is an error the HTTP layer itself answers with a status.
type statusError struct {
	status int
	msg    string
}

func (e *statusError) Error() string { return e.msg }

// errorBody is the JSON answer to every failed request.
type errorBody struct {
	Error  string `json:"error"`
	Status int    `json:"status"`
}

// errorWriter turns errors into JSON answers.
type errorWriter struct {
	logger     *zap.Logger
	retryAfter time.Duration
}

// write answers r with the status err maps to and a JSON body saying why.
// It is the one place errors become statuses; only 5xx are logged as
// errors, because they are the relay's problem, not the client's. It
// returns the status written.
func (e *errorWriter) write(w http.ResponseWriter, r *http.Request, err error) int {
	status, msg := e.classify(err)
	switch {
	case status == http.StatusUnauthorized:
		w.Header().Set("WWW-Authenticate", `Bearer realm="relay"`)
	case status == http.StatusServiceUnavailable:
		w.Header().Set("Retry-After", strconv.Itoa(int((e.retryAfter+time.Second-1)/time.Second)))
	}
	if status >= 500 {
		e.logger.Error("request failed",
			zap.String("request_id", middleware.GetReqID(r.Context())),
			zap.String("method", r.Method),
			zap.String("route", routePattern(r)),
			zap.Int("status", status),
			zap.Error(err))
	}
	writeJSON(w, status, errorBody{Error: msg, Status: status})
	return status
}

// classify maps err to a status and the message the client sees. Errors
// the relay did not classify are internal; their text is logged, not shown.
func (e *errorWriter) classify(err error) (int, string) {
	var (
		ie *intake.Error
		ae *auth.Error
		se *statusError
		me *http.MaxBytesError
	)
	switch {
	case errors.As(err, &me):
		return http.StatusRequestEntityTooLarge, "request body is larger than " + strconv.FormatInt(me.Limit, 10) + " bytes"
	case errors.As(err, &ae):
		return http.StatusUnauthorized, ae.Error()
	case errors.As(err, &se):
		return se.status, se.msg
	case errors.As(err, &ie):
		switch ie.Code {
		case intake.Invalid:
			return http.StatusBadRequest, ie.Msg
		case intake.NotFound:
			return http.StatusNotFound, ie.Msg
		case intake.Unsupported:
			return http.StatusUnsupportedMediaType, ie.Msg
		case intake.Unavailable:
			return http.StatusServiceUnavailable, ie.Msg
		case intake.Internal:
			return http.StatusInternalServerError, ie.Msg
		}
	}
	return http.StatusInternalServerError, "internal error; see the relay's log"
}

// writeJSON answers with status and v as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	h := w.Header()
	// Canonical keys, set without Set's canonicalising.
	h["Content-Type"] = []string{"application/json; charset=utf-8"}
	h["X-Content-Type-Options"] = []string{"nosniff"}
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// routePattern is the chi pattern that matched r, never the raw path, so
// that it is safe as a log field and a metric label.
func routePattern(r *http.Request) string {
	// Each chi router that matches sets r.Pattern to the routing context's
	// pattern so far, the innermost one last, so that it is the whole
	// pattern: reading it saves building it again. A request no router
	// matched has none, or a mount's ("/v1/*"), which RoutePattern builds
	// too.
	if r.Pattern != "" {
		return r.Pattern
	}
	if rc := chi.RouteContext(r.Context()); rc != nil {
		if p := rc.RoutePattern(); p != "" {
			return p
		}
	}
	return "unmatched"
}
