package outbox

import (
	"context"
	"errors"
	"fmt"
	"sync"
)

// ErrClosed is returned by Enqueue after the store was closed.
var ErrClosed = errors.New("outbox is closed")

// MaxGroup bounds how many waiting batches one group commit takes.
const MaxGroup = 256

// Pending is one Enqueue call waiting for its group commit.
type Pending struct {
	Ctx   context.Context
	Batch Batch
}

// Answer is what became of one pending batch.
type Answer struct {
	Result EnqueueResult
	Err    error
}

// CommitFunc writes a group of batches in one transaction and returns one
// answer per batch, in order. Each batch is all or nothing; when the
// transaction fails as a whole, every batch's answer carries the error.
type CommitFunc func(group []Pending) []Answer

// GroupCommitter makes durable ingest fast under concurrency: one writer
// goroutine takes every Enqueue call waiting (up to MaxGroup) and commits
// them together, so concurrent webhooks share one synced commit.
type GroupCommitter struct {
	commit CommitFunc
	reqs   chan *request
	quit   chan struct{}
	done   chan struct{}
	once   sync.Once
}

type request struct {
	Pending
	answer chan Answer // buffered(1): the writer never blocks on it
}

// NewGroupCommitter starts the writer goroutine; Close stops it.
func NewGroupCommitter(commit CommitFunc) *GroupCommitter {
	g := &GroupCommitter{
		commit: commit,
		reqs:   make(chan *request),
		quit:   make(chan struct{}),
		done:   make(chan struct{}),
	}
	go g.run()
	return g
}

// Enqueue hands b to the writer and returns once its group is committed
// (or failed). Once handed over, it waits for the answer even if ctx ends:
// the batch may be committing, and Enqueue must never say "failed" about a
// batch that is stored.
func (g *GroupCommitter) Enqueue(ctx context.Context, b Batch) (EnqueueResult, error) {
	r := &request{Pending: Pending{Ctx: ctx, Batch: b}, answer: make(chan Answer, 1)}
	select {
	case g.reqs <- r:
	case <-g.quit:
		return EnqueueResult{}, ErrClosed
	case <-ctx.Done():
		return EnqueueResult{}, fmt.Errorf("enqueue: %w", ctx.Err())
	}
	a := <-r.answer
	return a.Result, a.Err
}

// Close stops the writer after the group it is committing, if any. Enqueue
// calls not yet taken return ErrClosed.
func (g *GroupCommitter) Close() {
	g.once.Do(func() { close(g.quit) })
	<-g.done
}

func (g *GroupCommitter) run() {
	defer close(g.done)
	for {
		var group []*request
		select {
		case r := <-g.reqs:
			group = append(group, r)
		case <-g.quit:
			return
		}
	more:
		for len(group) < MaxGroup {
			select {
			case r := <-g.reqs:
				group = append(group, r)
			default:
				break more
			}
		}
		pending := make([]Pending, len(group))
		for i, r := range group {
			pending[i] = r.Pending
		}
		answers := g.commit(pending)
		for i, r := range group {
			if i < len(answers) {
				r.answer <- answers[i]
			} else {
				r.answer <- Answer{Err: errors.New("enqueue: the store gave no answer for this batch")}
			}
		}
	}
}
