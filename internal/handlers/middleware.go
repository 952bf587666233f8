package handlers

import (
	"net/http"
	"runtime/debug"
	"time"

	"github.com/go-chi/chi/v5/middleware"
	"go.uber.org/zap"
)

// maxRequestIDLen bounds a request id taken from the client.
const maxRequestIDLen = 128

// requestID drops a client's X-Request-Id that is too long or holds
// anything but printable ASCII, so that it cannot forge log lines; chi's
// RequestID then makes a new one.
func requestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if id := r.Header.Get(middleware.RequestIDHeader); id != "" && !validRequestID(id) {
			r.Header.Del(middleware.RequestIDHeader)
		}
		next.ServeHTTP(w, r)
	})
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

// echoRequestID returns the request id in the X-Request-Id header, so that
// a client can quote it when it reports a problem.
func echoRequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set(middleware.RequestIDHeader, middleware.GetReqID(r.Context()))
		next.ServeHTTP(w, r)
	})
}

// accessLog writes one line per request. It logs no headers and no body,
// so no credential; probes and scrapes are logged at debug level only.
func accessLog(logger *zap.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			ww := middleware.NewWrapResponseWriter(w, r.ProtoMajor)
			next.ServeHTTP(ww, r)
			route := routePattern(r)
			level := zap.InfoLevel
			switch route {
			case "/healthz", "/readyz", "/metrics":
				level = zap.DebugLevel
			}
			logger.Log(level, "request",
				zap.String("method", r.Method),
				zap.String("route", route),
				zap.Int("status", status(ww)),
				zap.Int("bytes", ww.BytesWritten()),
				zap.Duration("duration", time.Since(start)),
				zap.String("request_id", middleware.GetReqID(r.Context())),
				zap.String("remote", r.RemoteAddr))
		})
	}
}

// recoverer turns a panic into a 500 and an error log line with the stack.
// It logs the panic value and the route pattern, never the request's
// headers or body.
func recoverer(logger *zap.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
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
		})
	}
}
