package postgres

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/relayhq/relay/internal/outbox/storetest"
	"github.com/relayhq/relay/internal/testenv"
)

func TestFirstSchema(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, searchPath, want string
	}{
		{"unset", "", ""},
		{"one", "relay", "relay"},
		{"first of several", "relay, public", "relay"},
		{"quoted", `"Relay ""Ops""", public`, `Relay "Ops"`},
		{"user schema", `"$user", public`, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			if got := firstSchema(c.searchPath); got != c.want {
				t.Errorf("firstSchema(%q) = %q, want %q", c.searchPath, got, c.want)
			}
		})
	}
}

// TestSweepDeletesWhatExpired: expired dedup keys and pauses and idle
// limiter slots go; live ones stay.
func TestSweepDeletesWhatExpired(t *testing.T) {
	t.Parallel()
	clock := &fakeClock{t: time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)}
	s := replicas(t, 1, Options{DedupTTL: time.Minute, Now: clock.Now})[0]
	for _, key := range []string{"a", "b"} {
		b := batch("1", "x")
		b.DedupKey = key
		if _, err := s.Enqueue(t.Context(), b); err != nil {
			t.Fatalf("Enqueue: %v", err)
		}
	}
	if c, err := s.Claim(t.Context(), claimReq("1", 10, time.Minute)); err != nil || len(c.Messages) != 1 {
		t.Fatalf("Claim = %+v, %v", c, err)
	}
	if err := s.Pause(t.Context(), "chatwork/room/1", clock.Now().Add(time.Minute)); err != nil {
		t.Fatalf("Pause: %v", err)
	}
	if err := s.Pause(t.Context(), "chatwork/room/2", clock.Now().Add(2*time.Hour)); err != nil {
		t.Fatalf("Pause: %v", err)
	}
	if n, err := s.sweep(t.Context()); err != nil || n != 0 {
		t.Errorf("sweep before anything expired = %d, %v; want 0, nil", n, err)
	}
	clock.Advance(idleSlotAge)
	// Two dedup keys, one pause, one slot.
	if n, err := s.sweep(t.Context()); err != nil || n != 4 {
		t.Errorf("sweep = %d, %v; want 4, nil", n, err)
	}
}

func TestEnqueueAfterCloseFails(t *testing.T) {
	t.Parallel()
	url := testenv.Lookup(t, testenv.PostgresURL)
	s, err := Open(t.Context(), url, Options{Schema: newSchema(t, url)})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, err := s.Enqueue(t.Context(), batch("1", "a")); !errors.Is(err, ErrClosed) {
		t.Errorf("Enqueue after Close: err = %v, want ErrClosed", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// TestSweepForgetsOldFollowStates: group_follows rows not written for the
// store's FollowMemory are swept; a write keeps a row for another one.
func TestSweepForgetsOldFollowStates(t *testing.T) {
	t.Parallel()
	clock := &fakeClock{t: time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)}
	const memory = 48 * time.Hour
	s := replicas(t, 1, Options{Now: clock.Now, FollowMemory: memory})[0]
	storetest.FollowStatesSwept(t, s, memory, clock.Advance, func(ctx context.Context) error {
		_, err := s.sweep(ctx)
		return err
	})
}
