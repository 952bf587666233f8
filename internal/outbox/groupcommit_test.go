package outbox

import (
	"context"
	"errors"
	"sync"
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
