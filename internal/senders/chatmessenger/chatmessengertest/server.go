// Package chatmessengertest is a strict fake Chat&Messenger server for tests.
// It answers like the real API: HTTP 200 with {"status": 520, "errors":
// [{"code", "message"}]} for a bad token, a bad request, an unknown user or
// room, and records the messages it accepts.
package chatmessengertest

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// Options configures a fake.
type Options struct {
	// Token is the valid API token.
	Token string
	// Users are the registered e-mail addresses.
	Users []string
	// Rooms are the room (panel) names that exist besides "messenger".
	Rooms []string
}

// Message is one accepted message.
type Message struct {
	PanelName, Message string
	IsOpened           bool
	Users              []string
	At                 time.Time
}

// Server is a running fake. Its methods are safe for concurrent use.
type Server struct {
	srv   *httptest.Server
	token string
	users map[string]bool
	rooms map[string]bool

	mu       sync.Mutex
	messages []Message
	requests int
	failN    int
	failCode string
	failHTTP int
	failHN   int
	changed  chan struct{}
}

// NewServer starts a fake on 127.0.0.1; t's cleanup closes it.
func NewServer(t testing.TB, opts Options) *Server {
	t.Helper()
	if opts.Token == "" {
		t.Fatal("chatmessengertest: Options.Token is empty")
	}
	s := &Server{token: opts.Token, users: set(opts.Users), rooms: set(opts.Rooms), changed: make(chan struct{})}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.srv.Close)
	return s
}

// URL returns the serverURL to configure the sender with.
func (s *Server) URL() string { return s.srv.URL }

// Messages returns the accepted messages in order.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.messages...)
}

// Requests returns how many requests the fake received, rejected ones
// included.
func (s *Server) Requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests
}

// FailNext makes the next n requests answer HTTP 200 with status 520 and
// the error code (for example "491", "503", "805").
func (s *Server) FailNext(n int, code string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failN, s.failCode = n, code
}

// FailNextHTTP makes the next n requests answer the HTTP status (for
// example 502) with a plain-text body.
func (s *Server) FailNextHTTP(n int, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failHN, s.failHTTP = n, status
}

// WaitMessages waits until at least n messages are accepted or timeout
// passes, and reports whether they were.
func (s *Server) WaitMessages(n int, timeout time.Duration) bool {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		got, changed := len(s.messages), s.changed
		s.mu.Unlock()
		if got >= n {
			return true
		}
		select {
		case <-changed:
		case <-deadline.C:
			return false
		}
	}
}

// accept records messages and wakes waiters; s.mu must be held.
func (s *Server) accept(ms []Message) {
	s.messages = append(s.messages, ms...)
	close(s.changed)
	s.changed = make(chan struct{})
}

func set(xs []string) map[string]bool {
	m := make(map[string]bool, len(xs))
	for _, x := range xs {
		m[x] = true
	}
	return m
}
