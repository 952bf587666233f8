package handlers

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"go.uber.org/zap"
)

// maxRequestIDLen bounds a request id taken from the client.
const maxRequestIDLen = 128

// observe serves every request with mux and is the router's one layer
// around it. For every request it
//   - takes the client's X-Request-Id, unless it is too long or holds
//     anything but printable ASCII (it could forge log lines: it is then
//     dropped from the request), or else makes a new one; puts it in the
//     context (middleware.GetReqID) and returns it in the X-Request-Id
//     header, so that a client can quote it when it reports a problem;
//   - turns a panic into a 500 and an error log line with the stack;
//   - observes the request's duration under its route pattern and status;
//   - writes one access log line. It logs no headers and no body, so no
//     credential; probes and scrapes are logged at debug level only.
//
// It also gives the request chi's routing context, from its own pool, so
// that one new request carries both it and the id: mux then uses the
// context it finds, as a mounted router does, instead of making another
// request. It does in one layer, with one response writer wrapper, what
// chi's RequestID and five small middlewares did before.
func observe(logger *zap.Logger, m *metrics, mux *chi.Mux) http.Handler {
	routeContexts := sync.Pool{New: func() any { return chi.NewRouteContext() }}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get(middleware.RequestIDHeader)
		if id != "" && !validRequestID(id) {
			r.Header.Del(middleware.RequestIDHeader)
			id = ""
		}
		if id == "" {
			id = newRequestID()
		}
		w.Header()[middleware.RequestIDHeader] = []string{id}
		rctx := routeContexts.Get().(*chi.Context)
		rctx.Reset()
		rctx.Routes = mux
		ctx := context.WithValue(r.Context(), middleware.RequestIDKey, id)
		r = r.WithContext(context.WithValue(ctx, chi.RouteCtxKey, rctx))
		rw := &statusWriter{ResponseWriter: w}
		serveRecovering(logger, mux, rw, r)

		route := routePattern(r)
		status := rw.statusOr200()
		elapsed := time.Since(start)
		m.duration.WithLabelValues(route, strconv.Itoa(status)).Observe(elapsed.Seconds())
		level := zap.InfoLevel
		switch route {
		case "/healthz", "/readyz", "/metrics":
			level = zap.DebugLevel
		}
		if ce := logger.Check(level, "request"); ce != nil {
			ce.Write(
				zap.String("method", r.Method),
				zap.String("route", route),
				zap.Int("status", status),
				zap.Int("bytes", rw.bytes),
				zap.Duration("duration", elapsed),
				zap.String("request_id", id),
				zap.String("remote", r.RemoteAddr))
		}
		routeContexts.Put(rctx)
	})
}

// serveRecovering serves r with next and turns a panic into a 500 and an
// error log line with the stack. It logs the panic value and the route
// pattern, never the request's headers or body. http.ErrAbortHandler is
// passed on, to abort the answer as net/http does.
func serveRecovering(logger *zap.Logger, next http.Handler, w http.ResponseWriter, r *http.Request) {
	defer func() {
		v := recover()
		if v == nil {
			return
		}
		if v == http.ErrAbortHandler {
			panic(v)
		}
		logger.Error("panic while serving a request",
			zap.Any("panic", v),
			zap.String("request_id", middleware.GetReqID(r.Context())),
			zap.String("route", routePattern(r)),
			zap.ByteString("stack", debug.Stack()))
		writeJSON(w, http.StatusInternalServerError, errorBody{
			Error: "internal error; see the relay's log", Status: http.StatusInternalServerError})
	}()
	next.ServeHTTP(w, r)
}

func validRequestID(id string) bool {
	if len(id) > maxRequestIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] < 0x21 || id[i] > 0x7e {
			return false
		}
	}
	return true
}

// requestIDPrefix starts every request id the relay makes: the host name
// and ten random base62 characters, as chi's RequestID makes them.
var requestIDPrefix = func() string {
	host, err := os.Hostname()
	if host == "" || err != nil {
		host = "localhost"
	}
	var b64 string
	for len(b64) < 10 {
		var buf [12]byte
		_, _ = rand.Read(buf[:])
		b64 = strings.NewReplacer("+", "", "/", "").Replace(base64.StdEncoding.EncodeToString(buf[:]))
	}
	return host + "/" + b64[:10]
}()

// newRequestID returns a request id in chi's form, "host/random-000042",
// counted by chi's counter.
func newRequestID() string {
	var buf [maxRequestIDLen]byte
	b := append(buf[:0], requestIDPrefix...)
	b = append(b, '-')
	n := middleware.NextRequestID()
	for p := uint64(100000); p > 1 && n < p; p /= 10 {
		b = append(b, '0')
	}
	b = strconv.AppendUint(b, n, 10)
	return string(b)
}

// statusWriter records the status and the size of an answer. Like chi's
// WrapResponseWriter, it passes on the first final status only (and every
// informational one); a handler that panics after it answered keeps its
// status.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int
}

func (w *statusWriter) WriteHeader(status int) {
	if status >= 100 && status <= 199 && status != http.StatusSwitchingProtocols {
		w.ResponseWriter.WriteHeader(status)
		return
	}
	if w.status == 0 {
		w.status = status
		w.ResponseWriter.WriteHeader(status)
	}
}

func (w *statusWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	n, err := w.ResponseWriter.Write(p)
	w.bytes += n
	return n, err
}

// Flush sends what was written so far, if the underlying writer can.
func (w *statusWriter) Flush() {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// statusOr200 is the status sent; 200 when the handler wrote nothing, as
// net/http then answers.
func (w *statusWriter) statusOr200() int {
	if w.status != 0 {
		return w.status
	}
	return http.StatusOK
}
