package handlers

import (
	"net/http"
	"time"
)

// Server limits, so that slow or hostile clients cannot pin connections.
const (
	readHeaderTimeout = 5 * time.Second
	readTimeout       = 30 * time.Second
	writeTimeout      = 30 * time.Second
	idleTimeout       = 120 * time.Second
	maxHeaderBytes    = 64 << 10
)

// DefaultStoreTimeout bounds the outbox work of one webhook and of one
// readiness check: well under the server's write timeout, so that a stuck
// store is answered 503 with Retry-After, not with a dropped connection.
const DefaultStoreTimeout = writeTimeout - 5*time.Second

// NewServer returns a server for h on addr with timeouts and a header size
// limit set. Callers open the listener themselves (so ":0" and listen
// errors surface at once) and call Serve.
func NewServer(addr string, h http.Handler) *http.Server {
	return &http.Server{
		Addr:              addr,
		Handler:           h,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
	}
}
