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
// Calls never overlap.
type CommitFunc func(group []Pending) []Answer

// GroupCommitter makes durable ingest fast under concurrency: concurrent
// Enqueue calls share one synced commit.
//
// There is no writer goroutine. The caller that finds no commit running
// becomes the writer: it commits every batch waiting (up to MaxGroup),
// its own among them, while later callers queue behind it. Once its own
// batch is answered it hands the writer's role to the first caller still
// waiting, which commits the next group. A lone caller, the common case
// at low load, thus commits on its own goroutine: no hand-over to another
// goroutine and back on the way to its answer.
type GroupCommitter struct {
	commit CommitFunc

	mu      sync.Mutex
	queue   []*request
	writing bool // a caller is the writer, or is being handed the role
	closed  bool
	idle    *sync.Cond // signalled when writing becomes false
}

type request struct {
	Pending
	reply chan reply // buffered(1): an answer, or the writer's role
}

type reply struct {
	answer Answer
	write  bool // the caller is now the writer; no answer yet
}

// NewGroupCommitter returns a committer that writes through commit.
func NewGroupCommitter(commit CommitFunc) *GroupCommitter {
	g := &GroupCommitter{commit: commit}
	g.idle = sync.NewCond(&g.mu)
	return g
}

// Enqueue commits b with whatever else is waiting and returns once its
// group is committed (or failed). Once queued, it waits for the answer
// even if ctx ends: the batch may be committing, and Enqueue must never
// say "failed" about a batch that is stored. (The commit skips a batch
// whose ctx has ended before it is written.)
func (g *GroupCommitter) Enqueue(ctx context.Context, b Batch) (EnqueueResult, error) {
	if err := ctx.Err(); err != nil {
		return EnqueueResult{}, fmt.Errorf("enqueue: %w", err)
	}
	r := &request{Pending: Pending{Ctx: ctx, Batch: b}, reply: make(chan reply, 1)}
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		return EnqueueResult{}, ErrClosed
	}
	g.queue = append(g.queue, r)
	write := !g.writing
	g.writing = true
	g.mu.Unlock()
	if !write {
		rep := <-r.reply
		if !rep.write {
			return rep.answer.Result, rep.answer.Err
		}
	}
	g.write(r)
	rep := <-r.reply
	return rep.answer.Result, rep.answer.Err
}

// write commits groups from the head of the queue until own is answered,
// then hands the writer's role on.
func (g *GroupCommitter) write(own *request) {
	for answered := false; !answered; {
		g.mu.Lock()
		if g.closed {
			g.stopLocked()
			g.mu.Unlock()
			return
		}
		n := min(len(g.queue), MaxGroup)
		group := make([]*request, n)
		copy(group, g.queue)
		g.queue = g.queue[n:]
		g.mu.Unlock()

		g.commitGroup(group)
		for _, r := range group {
			answered = answered || r == own
		}
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.handOnLocked()
}

// handOnLocked gives the writer's role to the first caller still waiting,
// or ends writing if none is or the committer is closed.
func (g *GroupCommitter) handOnLocked() {
	if g.closed || len(g.queue) == 0 {
		g.stopLocked()
		return
	}
	g.queue[0].reply <- reply{write: true}
}

// stopLocked ends writing: every call still queued is answered ErrClosed
// if the committer is closed (none is queued otherwise).
func (g *GroupCommitter) stopLocked() {
	for _, r := range g.queue {
		r.reply <- reply{answer: Answer{Err: ErrClosed}}
	}
	g.queue = nil
	g.writing = false
	g.idle.Broadcast()
}

// commitGroup commits one group and answers each of its callers. If the
// commit panics (net/http recovers a handler's panic, so the process may
// live on), the group is answered with an error, the writer's role is
// released, and the panic goes on.
func (g *GroupCommitter) commitGroup(group []*request) {
	done := false
	defer func() {
		if done {
			return
		}
		for _, r := range group {
			r.reply <- reply{answer: Answer{Err: errPanicked}}
		}
		g.mu.Lock()
		g.handOnLocked()
		g.mu.Unlock()
	}()
	pending := make([]Pending, len(group))
	for i, r := range group {
		pending[i] = r.Pending
	}
	answers := g.commit(pending)
	done = true
	for i, r := range group {
		if i < len(answers) {
			r.reply <- reply{answer: answers[i]}
		} else {
			r.reply <- reply{answer: Answer{Err: errors.New("enqueue: the store gave no answer for this batch")}}
		}
	}
}

var errPanicked = errors.New("enqueue: the commit panicked; the batch may or may not be stored")

// Close waits for the group being committed, if any; Enqueue calls not yet
// in a group, and later ones, return ErrClosed.
func (g *GroupCommitter) Close() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.closed = true
	for g.writing {
		g.idle.Wait()
	}
}
