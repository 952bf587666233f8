package outbox

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestGroupCommitterGroupsConcurrentBatches(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var sizes []int
	release := make(chan struct{})
	g := NewGroupCommitter(func(group []Pending) []Answer {
		<-release
		mu.Lock()
		sizes = append(sizes, len(group))
		mu.Unlock()
		out := make([]Answer, len(group))
		for i, p := range group {
			out[i] = Answer{Result: EnqueueResult{NotificationID: p.Batch.NotificationID}}
		}
		return out
	})
	defer g.Close()

	const n = 20
	var wg sync.WaitGroup
	ids := make([]string, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := g.Enqueue(context.Background(), Batch{NotificationID: string(rune('a' + i))})
			if err != nil {
				t.Error(err)
			}
			ids[i] = res.NotificationID
		}()
	}
	// The first group is stuck in commit while the others queue up.
	time.Sleep(50 * time.Millisecond)
	close(release)
	wg.Wait()
	for i, id := range ids {
		if id != string(rune('a'+i)) {
			t.Errorf("batch %d answered with %q: answers must go to their own callers", i, id)
		}
	}
	total := 0
	for _, s := range sizes {
		total += s
	}
	if total != n || len(sizes) >= n {
		t.Errorf("group sizes %v: want %d batches in fewer than %d commits", sizes, n, n)
	}
}

func TestGroupCommitterClose(t *testing.T) {
	t.Parallel()
	g := NewGroupCommitter(func(group []Pending) []Answer { return make([]Answer, len(group)) })
	g.Close()
	g.Close() // idempotent
	if _, err := g.Enqueue(context.Background(), Batch{}); !errors.Is(err, ErrClosed) {
		t.Errorf("Enqueue after Close: got %v, want ErrClosed", err)
	}
}

func TestGroupCommitterMissingAnswerIsAnError(t *testing.T) {
	t.Parallel()
	g := NewGroupCommitter(func([]Pending) []Answer { return nil })
	defer g.Close()
	if _, err := g.Enqueue(context.Background(), Batch{}); err == nil {
		t.Error("a batch the commit did not answer must fail, not succeed")
	}
}

func TestGroupCommitterCommitsNeverOverlap(t *testing.T) {
	t.Parallel()
	var inFlight, most, batches atomic.Int64
	g := NewGroupCommitter(func(group []Pending) []Answer {
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		for {
			m := most.Load()
			if n <= m || most.CompareAndSwap(m, n) {
				break
			}
		}
		batches.Add(int64(len(group)))
		time.Sleep(100 * time.Microsecond)
		out := make([]Answer, len(group))
		for i, p := range group {
			out[i] = Answer{Result: EnqueueResult{NotificationID: p.Batch.NotificationID}}
		}
		return out
	})
	defer g.Close()
	const callers, each = 32, 50
	var wg sync.WaitGroup
	for c := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				id := fmt.Sprintf("%d/%d", c, i)
				res, err := g.Enqueue(context.Background(), Batch{NotificationID: id})
				if err != nil || res.NotificationID != id {
					t.Errorf("Enqueue(%s) = %q, %v", id, res.NotificationID, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if most.Load() != 1 {
		t.Errorf("%d commits ran at once; they must never overlap", most.Load())
	}
	if batches.Load() != callers*each {
		t.Errorf("%d batches committed, want %d", batches.Load(), callers*each)
	}
}

func TestGroupCommitterCloseWaitsForTheGroupAndRefusesTheQueue(t *testing.T) {
	t.Parallel()
	entered, release := make(chan struct{}), make(chan struct{})
	var commits atomic.Int64
	g := NewGroupCommitter(func(group []Pending) []Answer {
		if commits.Add(1) == 1 {
			close(entered)
			<-release
		}
		return make([]Answer, len(group))
	})
	first := make(chan error, 1)
	go func() {
		_, err := g.Enqueue(context.Background(), Batch{})
		first <- err
	}()
	<-entered
	queued := make(chan error, 2)
	for range 2 {
		go func() {
			_, err := g.Enqueue(context.Background(), Batch{})
			queued <- err
		}()
	}
	time.Sleep(20 * time.Millisecond) // let both queue behind the first
	closed := make(chan struct{})
	go func() {
		g.Close()
		close(closed)
	}()
	select {
	case <-closed:
		t.Fatal("Close returned while a group was committing")
	case <-time.After(20 * time.Millisecond):
	}
	close(release)
	if err := <-first; err != nil {
		t.Errorf("the group being committed at Close: %v, want its answer", err)
	}
	for range 2 {
		if err := <-queued; !errors.Is(err, ErrClosed) {
			t.Errorf("a batch queued at Close: %v, want ErrClosed", err)
		}
	}
	<-closed
	if n := commits.Load(); n != 1 {
		t.Errorf("%d commits, want 1: nothing is committed after Close", n)
	}
}

func TestGroupCommitterPanicReachesTheCallerAndTheWriterGoesOn(t *testing.T) {
	t.Parallel()
	var commits atomic.Int64
	g := NewGroupCommitter(func(group []Pending) []Answer {
		if commits.Add(1) == 1 {
			panic("boom")
		}
		return make([]Answer, len(group))
	})
	defer g.Close()
	func() {
		defer func() {
			if v := recover(); v != "boom" {
				t.Errorf("recovered %v, want the commit's panic", v)
			}
		}()
		_, _ = g.Enqueue(context.Background(), Batch{})
	}()
	done := make(chan error, 1)
	go func() {
		_, err := g.Enqueue(context.Background(), Batch{})
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Enqueue after a panicked commit: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Enqueue hangs after a commit panicked: the writer stopped")
	}
}

func TestGroupCommitterCanceledContextQueuesNothing(t *testing.T) {
	t.Parallel()
	var commits atomic.Int64
	g := NewGroupCommitter(func(group []Pending) []Answer {
		commits.Add(1)
		return make([]Answer, len(group))
	})
	defer g.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := g.Enqueue(ctx, Batch{}); !errors.Is(err, context.Canceled) {
		t.Errorf("Enqueue with a canceled context: %v, want context.Canceled", err)
	}
	if commits.Load() != 0 {
		t.Error("a canceled Enqueue reached the commit")
	}
}
