package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/relayhq/relay/internal/outbox"
)

// FollowStatesSwept checks a store's sweep of group follow states: a state
// not written for followMemory is forgotten, and writing a state again
// keeps it for another followMemory. The sweep is each store's own
// (unexported), so the store's test passes it in: s runs on the clock that
// advance moves, with its follow memory set to followMemory, and sweep
// sweeps s once.
func FollowStatesSwept(t *testing.T, s outbox.Store, followMemory time.Duration, advance func(time.Duration), sweep func(context.Context) error) {
	t.Helper()
	l := lane("1")
	write := func(g string) {
		t.Helper()
		if err := s.Progress(t.Context(), outbox.Progress{States: []outbox.GroupState{{Lane: l, Group: g, State: "x"}}}); err != nil {
			t.Fatalf("Progress: %v", err)
		}
	}
	kept := func() int {
		t.Helper()
		st, err := s.GroupStates(t.Context(), l, []string{"g", "h"})
		if err != nil {
			t.Fatalf("GroupStates: %v", err)
		}
		return len(st)
	}
	write("g")
	write("h")
	advance(followMemory / 2)
	write("h")
	advance(followMemory - followMemory/2 - time.Millisecond)
	if err := sweep(t.Context()); err != nil || kept() != 2 {
		t.Fatalf("sweep within the follow memory: %v, %d states, want 2", err, kept())
	}
	advance(time.Millisecond)
	if err := sweep(t.Context()); err != nil || kept() != 1 {
		t.Fatalf("sweep after the follow memory of g: %v, %d states, want 1 (h, written later)", err, kept())
	}
}
