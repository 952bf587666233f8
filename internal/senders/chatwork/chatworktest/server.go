// Package chatworktest is a strict fake of Chatwork API v2 for tests. It
// serves what relay calls - POST /rooms/{room_id}/messages, PUT
// /rooms/{room_id}/messages/{message_id}, POST /rooms/{room_id}/tasks, PUT
// /rooms/{room_id}/tasks/{task_id}/status and GET /me - and enforces what
// the real API enforces: each endpoint's method, the x-chatworktoken header
// (never the query string), form encoding and the required fields, a body
// of 1 to 65,535 characters (counted as delivery.Len counts them), 404 for
// an unknown room, message or task, the token quota (300 requests per 5
// minutes, every request counted) and the per-room post limit (10 per 10
// seconds over all tokens, counting new messages and new tasks but not
// edits or task status changes), with the real status codes,
// x-ratelimit-* headers and {"errors": [...]} bodies. It keeps each room's
// messages (edits included) and tasks, and records every request, for
// assertions.
package chatworktest

import (
	"net/http"
	"net/http/httptest"
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
	// AccountID and AccountName are the account GET /me answers with
	// (default 1000, "relay").
	AccountID   int64
	AccountName string
	// Clock returns the time the fake uses for limits and records; nil
	// means time.Now. Tests of the limits use it to step time.
	Clock func() time.Time
	// Latency is how long, on the real clock, the fake holds each request
	// before it looks at it: a slow upstream. A client that goes away
	// meanwhile has nothing done; the request is recorded with status 0,
	// as a dropped connection, and takes no slot.
	Latency time.Duration
}

// Post is one request the fake received.
type Post struct {
	Room, Body, Token string
	// Method is the request's method.
	Method string
	// Kind is the endpoint, one of the Kind constants ("" when the path
	// was none of them).
	Kind string
	// ID is the message or task id in the path (an edit, a status change)
	// or, for an accepted post, what it created (the task ids of a task
	// post, comma-separated).
	ID string
	At time.Time
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
	rooms    map[string]*room
	known    map[string]bool
	account  account
	requests []Post
	posts    map[string][]Post
	lastTask int
	failN    int
	failCode int
	down     bool
	holding  int // requests held for Options.Latency
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
		rooms:   map[string]*room{},
		account: account{id: opts.AccountID, name: opts.AccountName},
		posts:   map[string][]Post{},
		changed: make(chan struct{}),
	}
	if s.clock == nil {
		s.clock = time.Now
	}
	if s.account.id <= 0 {
		s.account.id = 1000
	}
	if s.account.name == "" {
		s.account.name = "relay"
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

// Posts returns the accepted (2xx) posts to room, new messages and new
// tasks, in order; edits and task status changes are in Requests.
func (s *Server) Posts(room string) []Post {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Post(nil), s.posts[room]...)
}

// Holding returns how many requests the fake holds for Options.Latency
// now: posts in flight.
func (s *Server) Holding() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.holding
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

// WaitFor waits until cond holds or timeout passes, and reports whether it
// held. cond is checked at once and after every request the fake records;
// it may call the Server's methods.
func (s *Server) WaitFor(timeout time.Duration, cond func() bool) bool {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		changed := s.changed
		s.mu.Unlock()
		if cond() {
			return true
		}
		select {
		case <-changed:
		case <-deadline.C:
			return cond()
		}
	}
}

// record appends a request and wakes waiters; s.mu must be held.
func (s *Server) record(p Post) {
	s.requests = append(s.requests, p)
	if p.Status >= 200 && p.Status < 300 && (p.Kind == KindMessages || p.Kind == KindTasks) {
		s.posts[p.Room] = append(s.posts[p.Room], p)
	}
	s.notify()
}

// notify wakes waiters; s.mu must be held.
func (s *Server) notify() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// account is the account the fake's tokens belong to.
type account struct {
	id   int64
	name string
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
