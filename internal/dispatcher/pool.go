package dispatcher

import (
	"context"
	"sync"
)

// pool bounds the posts in flight of one sender or one upstream host. Lanes
// whose last attempt failed retryably (a hung or failing room) may hold at
// most failingCap of its cap, so that they can never take the slots the
// healthy lanes of the same sender and host need: a lane that hangs delays
// no other lane by more than one send timeout, and only while it has not
// failed yet.
type pool struct {
	all     chan struct{} // one token per post in flight
	failing chan struct{} // one token per post in flight of a failing lane
}

func newPool(size int) *pool {
	return &pool{
		all:     make(chan struct{}, size),
		failing: make(chan struct{}, max(size/4, 1)),
	}
}

// acquire takes a slot; false when ctx is done first.
func (p *pool) acquire(ctx context.Context, failing bool) bool {
	if failing {
		select {
		case p.failing <- struct{}{}:
		case <-ctx.Done():
			return false
		}
	}
	select {
	case p.all <- struct{}{}:
		return true
	case <-ctx.Done():
		if failing {
			<-p.failing
		}
		return false
	}
}

func (p *pool) release(failing bool) {
	<-p.all
	if failing {
		<-p.failing
	}
}

// pools hands out the pool of each sender and each upstream host, created
// on first use with the size the first user asks for.
type pools struct {
	mu sync.Mutex
	m  map[string]*pool
}

func (ps *pools) get(key string, size int) *pool {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if ps.m == nil {
		ps.m = map[string]*pool{}
	}
	p, ok := ps.m[key]
	if !ok {
		p = newPool(size)
		ps.m[key] = p
	}
	return p
}

// slots is what one post holds while it is claimed, sent and settled: a
// slot of its sender's pool and, if it has one, of its host's.
type slots struct {
	held    []*pool
	failing bool
}

// acquire takes a slot of the lane's sender and host, in that order (every
// lane takes them in the same order, so no two wait on each other).
func (d *Dispatcher) acquire(ctx context.Context, l *lane, p Policy) (*slots, bool) {
	s := &slots{failing: l.failing}
	size := p.Concurrency
	if size <= 0 {
		size = d.opts.Concurrency
	}
	want := []*pool{d.pools.get("sender "+l.sender, size)}
	if p.Host != "" {
		want = append(want, d.pools.get("host "+p.Host, d.opts.HostConcurrency))
	}
	for _, pl := range want {
		if !pl.acquire(ctx, s.failing) {
			s.release()
			return nil, false
		}
		s.held = append(s.held, pl)
	}
	return s, true
}

func (s *slots) release() {
	for _, pl := range s.held {
		pl.release(s.failing)
	}
	s.held = nil
}
