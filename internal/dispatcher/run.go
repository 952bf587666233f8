package dispatcher

import (
	"context"
	"sync"
	"time"

	"go.uber.org/zap"
)

// Run delivers until ctx is done. Then it claims nothing more, lets the
// posts in flight finish (each bounded by SendTimeout), and returns nil.
// What is not delivered stays in the store for the next start.
//
// A supervisor lists the store's lanes at start, after Store.Wake and
// every PollInterval, and starts one worker per lane that has none. It
// lists at most once per relistAfter: a burst of enqueues costs one
// listing, not one per webhook; a wake that comes sooner stays pending in
// Store.Wake's buffer and is answered when the pause is over. Run is
// called once per Dispatcher.
func (d *Dispatcher) Run(ctx context.Context) error {
	var (
		mu          sync.Mutex
		running     = map[string]bool{}
		wg          sync.WaitGroup
		listFailing bool // log a failing store once, not every poll
	)
	// leave ends a lane's worker unless a wake came since woken was
	// handed out: then something may have been enqueued after the
	// worker's last claim, and the supervisor, seeing the lane taken,
	// would not start another worker for it.
	leave := func(lane string, woken <-chan struct{}) bool {
		mu.Lock()
		defer mu.Unlock()
		select {
		case <-woken:
			if ctx.Err() == nil {
				return false
			}
		default:
		}
		delete(running, lane)
		return true
	}
	start := func() {
		lanes, err := d.store.Lanes(ctx)
		switch {
		case err != nil && ctx.Err() == nil && !listFailing:
			d.logger.Error("cannot list the outbox's lanes", zap.Error(err))
			listFailing = true
		case err == nil && listFailing:
			d.logger.Info("listing the outbox's lanes again")
			listFailing = false
		}
		if err != nil {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		for _, lane := range lanes {
			if running[lane] || ctx.Err() != nil {
				continue
			}
			running[lane] = true
			wg.Add(1)
			go func() {
				defer wg.Done()
				d.runLane(ctx, lane, leave)
			}()
		}
	}

	stop := func() error {
		d.wake.signal()
		wg.Wait()
		return nil
	}
	poll := d.opts.Clock.NewTimer(d.opts.PollInterval)
	defer poll.Stop()
	// The hold is on the real clock: it bounds the CPU that listing costs
	// under a continuous ingest and is no window a test waits out.
	hold := time.NewTimer(0)
	defer hold.Stop()
	for {
		start()
		hold.Reset(relistAfter)
		select {
		case <-ctx.Done():
			return stop()
		case <-hold.C:
		}
		select {
		case <-ctx.Done():
			return stop()
		case <-d.store.Wake():
			d.wake.signal()
		case <-poll.C():
			poll.Reset(d.opts.PollInterval)
		}
	}
}

// relistAfter is the least time between two listings of the lanes. Under
// a continuous ingest every commit wakes the dispatcher; listing (and
// waking every lane) once per commit cost more CPU than the commit.
const relistAfter = 5 * time.Millisecond

// broadcast wakes every goroutine waiting on the channel it last handed
// out. Store.Wake is one channel: a lane that read it would steal the
// signal from the supervisor and the other lanes.
type broadcast struct {
	mu sync.Mutex
	ch chan struct{}
}

func newBroadcast() *broadcast { return &broadcast{ch: make(chan struct{})} }

// wait returns a channel that is closed by the next signal.
func (b *broadcast) wait() <-chan struct{} {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.ch
}

func (b *broadcast) signal() {
	b.mu.Lock()
	defer b.mu.Unlock()
	close(b.ch)
	b.ch = make(chan struct{})
}
