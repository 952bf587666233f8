package handlers

import (
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/relayhq/relay/internal/auth"
	"github.com/relayhq/relay/internal/intake"
	"github.com/relayhq/relay/internal/outbox"
)

// Both real implementations fit the interfaces the router declares.
var (
	_ Pipeline    = (*intake.Pipeline)(nil)
	_ DeadLetters = outbox.Store(nil)
)

func TestWriteErrorMapsErrorsToStatuses(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name       string
		err        error
		wantStatus int
		wantMsg    string
		wantLogged bool
	}{
		{name: "invalid payload", err: intake.Errorf(intake.Invalid, "alerts[0].startsAt: bad time"), wantStatus: 400, wantMsg: "alerts[0].startsAt: bad time"},
		{name: "unknown route", err: intake.Errorf(intake.NotFound, `unknown route "x"`), wantStatus: 404, wantMsg: `unknown route "x"`},
		{name: "unsupported type", err: intake.Errorf(intake.Unsupported, "want JSON"), wantStatus: 415, wantMsg: "want JSON"},
		{name: "outbox full, wrapped", err: fmt.Errorf("accept: %w", &intake.Error{Code: intake.Unavailable, Msg: "the outbox is full", Err: outbox.ErrFull}),
			wantStatus: 503, wantMsg: "the outbox is full", wantLogged: true},
		{name: "pipeline bug", err: &intake.Error{Code: intake.Internal, Msg: "target names unknown sender"}, wantStatus: 500, wantMsg: "target names unknown sender", wantLogged: true},
		{name: "auth", err: &auth.Error{Reason: "wrong bearer token"}, wantStatus: 401, wantMsg: "unauthorized: wrong bearer token"},
		{name: "body too large, wrapped", err: fmt.Errorf("read: %w", &http.MaxBytesError{Limit: 1024}), wantStatus: 413, wantMsg: "request body is larger than 1024 bytes"},
		{name: "unclassified", err: errors.New("pq: password authentication failed"), wantStatus: 500, wantMsg: "internal error; see the relay's log", wantLogged: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			core, logs := observer.New(zapcore.DebugLevel)
			e := &errorWriter{logger: zap.New(core), retryAfter: 1500 * time.Millisecond}
			w := serve(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if got := e.write(w, r, tc.err); got != tc.wantStatus {
					t.Errorf("write returned %d, want %d", got, tc.wantStatus)
				}
			}), newRequest(http.MethodPost, "/", ""))
			if w.Code != tc.wantStatus {
				t.Fatalf("got %d, want %d", w.Code, tc.wantStatus)
			}
			if b := decodeError(t, w); b.Error != tc.wantMsg {
				t.Errorf("got message %q, want %q", b.Error, tc.wantMsg)
			}
			if got := logs.FilterLevelExact(zapcore.ErrorLevel).Len() == 1; got != tc.wantLogged {
				t.Errorf("logged at error level: %v, want %v", got, tc.wantLogged)
			}
			wantRetryAfter := ""
			if tc.wantStatus == http.StatusServiceUnavailable {
				wantRetryAfter = "2" // 1.5 s, rounded up
			}
			if got := w.Header().Get("Retry-After"); got != wantRetryAfter {
				t.Errorf("got Retry-After %q, want %q", got, wantRetryAfter)
			}
			if got := w.Header().Get("WWW-Authenticate") != ""; got != (tc.wantStatus == http.StatusUnauthorized) {
				t.Errorf("WWW-Authenticate set: %v, want it only on 401", got)
			}
		})
	}
}
