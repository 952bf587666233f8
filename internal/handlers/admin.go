package handlers

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/relayhq/relay/internal/auth"
	"github.com/relayhq/relay/internal/intake"
	"github.com/relayhq/relay/internal/outbox"
	"github.com/relayhq/relay/internal/secret"
)

// Limits of the admin API.
const (
	defaultDeadLetterLimit = 100
	maxDeadLetterLimit     = 10000
	maxAdminBodyBytes      = 1 << 20
)

// admin serves the dead-letter API.
type admin struct {
	store DeadLetters
	errs  *errorWriter
}

// deadLetterList is the answer to GET /api/v1/deadletters.
type deadLetterList struct {
	DeadLetters []outbox.DeadLetter `json:"dead_letters"`
}

// requeueRequest is the body of POST /api/v1/deadletters/requeue.
type requeueRequest struct {
	// IDs are the dead letters to re-queue; empty means all.
	IDs []int64 `json:"ids"`
}

// list serves GET /api/v1/deadletters?limit=N: the oldest N dead letters.
func (a *admin) list(w http.ResponseWriter, r *http.Request) {
	limit := defaultDeadLetterLimit
	if s := r.URL.Query().Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxDeadLetterLimit {
			a.errs.write(w, r, intake.Errorf(intake.Invalid, "limit must be a number from 1 to %d, got %q", maxDeadLetterLimit, s))
			return
		}
		limit = n
	}
	dls, err := a.store.DeadLetters(r.Context(), limit)
	if err != nil {
		a.errs.write(w, r, err)
		return
	}
	if dls == nil {
		dls = []outbox.DeadLetter{}
	}
	writeJSON(w, http.StatusOK, deadLetterList{DeadLetters: dls})
}

// requeue serves POST /api/v1/deadletters/requeue {"ids":[...]}: move the
// dead letters back to the queue, all of them when ids is empty. The
// answer is outbox.RequeueResult: {"requeued": N, "skipped": [{"id",
// "reason"}]}, skipped listing the ids not requeued (superseded by a newer
// notification of their group, or no such dead letter).
func (a *admin) requeue(w http.ResponseWriter, r *http.Request) {
	var req requeueRequest
	body := http.MaxBytesReader(w, r.Body, maxAdminBodyBytes)
	if err := json.NewDecoder(body).Decode(&req); err != nil {
		a.errs.write(w, r, intake.Errorf(intake.Invalid, `decode body: want {"ids": [1, 2]}: %v`, err))
		return
	}
	res, err := a.store.Requeue(r.Context(), req.IDs)
	if err != nil {
		a.errs.write(w, r, err)
		return
	}
	if res.Skipped == nil {
		res.Skipped = []outbox.Skipped{}
	}
	writeJSON(w, http.StatusOK, res)
}

// requireToken lets a request through only with "Authorization: Bearer
// <token>". With no token configured, closed is answered 403 and otherwise
// every request is let through.
func requireToken(token secret.Secret, disabled string, e *errorWriter) func(http.Handler) http.Handler {
	cfg := auth.Config{Bearer: token}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			switch {
			case !token.IsSet():
				e.write(w, r, &statusError{status: http.StatusForbidden, msg: disabled})
				return
			case !isBearer(r):
				e.write(w, r, &auth.Error{Reason: "want Authorization: Bearer <RELAY_ADMIN_TOKEN>"})
				return
			default:
				if err := auth.Check(cfg, r, nil, time.Time{}); err != nil {
					e.write(w, r, err)
					return
				}
			}
			next.ServeHTTP(w, r)
		})
	}
}

// isBearer reports whether r carries a bearer token (the admin endpoints
// take no basic auth).
func isBearer(r *http.Request) bool {
	scheme, _, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	return strings.EqualFold(scheme, "Bearer")
}
