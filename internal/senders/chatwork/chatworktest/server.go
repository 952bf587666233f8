// Package chatworktest is a strict fake of Chatwork API v2 for tests. It
// enforces what the real API enforces - POST only, the x-chatworktoken
// header (never the query string), form encoding, a body of 1 to 65,535
// characters (counted as delivery.Len counts them), the token quota (300
// requests per 5 minutes) and the per-room post limit (10 posts per 10
// seconds, messages and tasks together, over all tokens) - with the real
// status codes, x-ratelimit-* headers and error bodies, and it records
// every request for assertions.
package chatworktest

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// Options configures a fake. Zero fields take the real API's values.
type Options struct {
	// Tokens are the valid API tokens; at least one is needed.
	Tokens []string
	// Rooms are the known room ids; nil means any numeric id.
	Rooms []string
	// RoomLimit posts per RoomWindow per room (default 10 per 10 s).
	RoomLimit  int
	RoomWindow time.Duration
	// TokenLimit requests per TokenWindow per token (default 300 per 5 min).
	// Every request of a known token takes a slot, rejected ones included,
	// except one answered 429 for the quota itself.
	TokenLimit  int
	TokenWindow time.Duration
	// Clock returns the time the fake uses for limits and records; nil
	// means time.Now. Tests of the limits use it to step time.
	Clock func() time.Time
}

// Post is one request the fake received.
type Post struct {
	Room, Body, Token string
	// Kind is "messages" or "tasks" ("" when the path was not one of them).
	Kind string
	At   time.Time
	// Status is the HTTP status answered, 0 when the connection was dropped.
	Status int
}

// Server is a running fake. Its methods are safe for concurrent use.
type Server struct {
	srv   *httptest.Server
	opts  Options
	clock func() time.Time

	mu       sync.Mutex
	tokens   map[string]*window
	rooms    map[string]*window
	known    map[string]bool
	requests []Post
	posts    map[string][]Post
	failN    int
	failCode int
	down     bool
	changed  chan struct{}
}

// NewServer starts a fake on 127.0.0.1; t's cleanup closes it.
func NewServer(t testing.TB, opts Options) *Server {
	t.Helper()
	if len(opts.Tokens) == 0 {
		t.Fatal("chatworktest: Options.Tokens is empty")
	}
	if opts.RoomLimit <= 0 {
		opts.RoomLimit = 10
	}
	if opts.RoomWindow <= 0 {
		opts.RoomWindow = 10 * time.Second
	}
	if opts.TokenLimit <= 0 {
		opts.TokenLimit = 300
	}
	if opts.TokenWindow <= 0 {
		opts.TokenWindow = 5 * time.Minute
	}
	s := &Server{
		opts:    opts,
		clock:   opts.Clock,
		tokens:  map[string]*window{},
		rooms:   map[string]*window{},
		posts:   map[string][]Post{},
		changed: make(chan struct{}),
	}
	if s.clock == nil {
		s.clock = time.Now
	}
	for _, tok := range opts.Tokens {
		s.tokens[tok] = &window{span: opts.TokenWindow}
	}
	if opts.Rooms != nil {
		s.known = map[string]bool{}
		for _, r := range opts.Rooms {
			s.known[r] = true
		}
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.srv.Close)
	return s
}

// URL returns the API base URL, ending in /v2; use it as the sender's APIURL.
func (s *Server) URL() string { return s.srv.URL + "/v2" }

// FailNext makes the next n authenticated requests answer status with an
// {"errors": [...]} body. They still count toward the token quota.
func (s *Server) FailNext(n int, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failN, s.failCode = n, status
}

// SetDown makes the fake drop every connection without an answer (a
// transport error for the client) until SetDown(false).
func (s *Server) SetDown(down bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.down = down
}

// Posts returns the accepted (2xx) posts to room, in order.
func (s *Server) Posts(room string) []Post {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Post(nil), s.posts[room]...)
}

// Requests returns every request received, rejected ones included, in order.
func (s *Server) Requests() []Post {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Post(nil), s.requests...)
}

// Count returns how many requests were answered with status.
func (s *Server) Count(status int) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, p := range s.requests {
		if p.Status == status {
			n++
		}
	}
	return n
}

// MaxInWindow returns the largest number of accepted posts to room that fall
// in any window of length w. A client that respects the limit keeps
// MaxInWindow(room, 10*time.Second) at or below 10.
func (s *Server) MaxInWindow(room string, w time.Duration) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	times := make([]time.Time, 0, len(s.posts[room]))
	for _, p := range s.posts[room] {
		times = append(times, p.At)
	}
	return maxIn(times, w)
}

// WaitPosts waits until room has at least n accepted posts or timeout
// passes, and reports whether it got them.
func (s *Server) WaitPosts(room string, n int, timeout time.Duration) bool {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		got, changed := len(s.posts[room]), s.changed
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

// record appends a request and wakes waiters; s.mu must be held.
func (s *Server) record(p Post) {
	s.requests = append(s.requests, p)
	if p.Status >= 200 && p.Status < 300 {
		s.posts[p.Room] = append(s.posts[p.Room], p)
	}
	close(s.changed)
	s.changed = make(chan struct{})
}

// roomID returns the room id and kind of a /v2/rooms/{id}/{kind} path.
func roomID(path string) (room, kind string, ok bool) {
	rest, found := strings.CutPrefix(path, "/v2/rooms/")
	if !found {
		return "", "", false
	}
	room, kind, found = strings.Cut(rest, "/")
	if !found || !digits(room) || (kind != "messages" && kind != "tasks") {
		return "", "", false
	}
	return room, kind, true
}

func digits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
