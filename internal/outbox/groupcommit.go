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

// GroupCommitter lets concurrent Enqueue calls share one synced commit:
// one writer goroutine takes every batch waiting (up to MaxGroup), commits
// them together and answers each caller, then takes the next group.
type GroupCommitter struct {
	commit   CommitFunc
	requests chan *request // unbuffered: a send is taken by the writer
	quit     chan struct{} // closed by Close
	done     chan struct{} // closed when the writer has stopped
	stop     sync.Once
}

type request struct {
	Pending
	reply chan reply // buffered(1)
}

type reply struct {
	Answer
	panicked any // the commit's panic, raised again in the caller
}

// NewGroupCommitter returns a committer that writes through commit and
// starts its writer; Close stops it.
func NewGroupCommitter(commit CommitFunc) *GroupCommitter {
	g := &GroupCommitter{
		commit:   commit,
		requests: make(chan *request),
		quit:     make(chan struct{}),
		done:     make(chan struct{}),
	}
	go g.write()
	return g
}

// Enqueue commits b with whatever else is waiting and returns once its
// group is committed (or failed). Once the writer has taken it, it waits
// for the answer even if ctx ends: the batch may be committing, and
// Enqueue must never say "failed" about a batch that is stored. (The
// commit skips a batch whose ctx has ended before it is written.) If the
// commit panics, Enqueue panics with the same value.
func (g *GroupCommitter) Enqueue(ctx context.Context, b Batch) (EnqueueResult, error) {
	if err := ctx.Err(); err != nil {
		return EnqueueResult{}, fmt.Errorf("enqueue: %w", err)
	}
	r := &request{Pending: Pending{Ctx: ctx, Batch: b}, reply: make(chan reply, 1)}
	select {
	case g.requests <- r:
	case <-g.quit:
		return EnqueueResult{}, ErrClosed
	}
	rep := <-r.reply
	if rep.panicked != nil {
		panic(rep.panicked)
	}
	return rep.Result, rep.Err
}

// write is the writer: it commits groups until Close.
func (g *GroupCommitter) write() {
	defer close(g.done)
	for {
		select {
		case <-g.quit:
			return
		default:
		}
		var group []*request
		select {
		case r := <-g.requests:
			group = append(group, r)
		case <-g.quit:
			return
		}
	more:
		for len(group) < MaxGroup {
			select {
			case r := <-g.requests:
				group = append(group, r)
			default:
				break more
			}
		}
		g.commitGroup(group)
	}
}

// commitGroup commits one group and answers each of its callers. If the
// commit panics, every caller of the group panics with its value (net/http
// and relay's handlers recover a handler's panic) and the writer goes on.
func (g *GroupCommitter) commitGroup(group []*request) {
	defer func() {
		if v := recover(); v != nil {
			for _, r := range group {
				r.reply <- reply{panicked: v}
			}
		}
	}()
	pending := make([]Pending, len(group))
	for i, r := range group {
		pending[i] = r.Pending
	}
	answers := g.commit(pending)
	for i, r := range group {
		if i < len(answers) {
			r.reply <- reply{Answer: answers[i]}
		} else {
			r.reply <- reply{Answer: Answer{Err: errors.New("enqueue: the store gave no answer for this batch")}}
		}
	}
}

// Close waits for the group being committed, if any, and stops the
// writer; Enqueue calls not yet in a group, and later ones, return
// ErrClosed.
func (g *GroupCommitter) Close() {
	g.stop.Do(func() { close(g.quit) })
	<-g.done
}
