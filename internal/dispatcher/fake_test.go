package dispatcher

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/relayhq/relay/internal/delivery"
	"github.com/relayhq/relay/internal/limiter"
	"github.com/relayhq/relay/internal/outbox"
)

// fakeStore is an in-memory outbox that keeps the rules of outbox.Store
// that the dispatcher relies on: FIFO lanes, one lease per lane, the
// coalescing rule, limiter slots taken atomically with the claim, and
// settling only what was claimed (anything else fails the test).
type fakeStore struct {
	t     testing.TB
	lim   *limiter.Log
	clock Clock // the real one unless a test sets the dispatcher's fake

	mu     sync.Mutex
	nextID int64
	queue  []*queued // in id order
	dead   []outbox.DeadLetter
	pauses []pause
	tries  []retried
	stats  []outbox.Stat
	wake   chan struct{}
	// lists and claims count the calls to Lanes and Claim.
	lists, claims int

	// onEmpty, if set, runs when Claim finds a lane empty, before it
	// returns: a test uses it to enqueue at the worst moment.
	onEmpty func()
	// listed, if set, receives (without blocking) after every Lanes call.
	listed chan struct{}
	// failClaims and failAcks make that many calls fail, as a store that
	// lost its disk would.
	failClaims, failAcks, failRetries, failBuries int
	// renews counts Renew calls.
	renews int
	// states are the group states Progress wrote, by lane and group.
	states map[string]string
}

var errStoreDown = errors.New("disk I/O error")

type queued struct {
	msg       delivery.Message
	available time.Time
	leased    time.Time // lease end; zero when not claimed
}

type pause struct {
	key   string
	until time.Time
}

type retried struct {
	ids          []int64
	at           time.Time
	countAttempt bool
	reason       string
}

func newFakeStore(t testing.TB) *fakeStore {
	return &fakeStore{t: t, lim: limiter.NewLog(), clock: realClock{}, wake: make(chan struct{}, 1)}
}

// add enqueues one message per body to dest, created at `at`.
func (s *fakeStore) add(dest delivery.Destination, at time.Time, bodies ...string) []int64 {
	s.mu.Lock()
	var ids []int64
	for _, b := range bodies {
		s.nextID++
		m := delivery.Message{ID: s.nextID, Dest: dest, Body: b, NotificationID: fmt.Sprintf("n%d", s.nextID), CreatedAt: at}
		s.queue = append(s.queue, &queued{msg: m})
		ids = append(ids, m.ID)
	}
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
	return ids
}

// calls returns how many times Lanes and Claim were called.
func (s *fakeStore) calls() (lists, claims int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lists, s.claims
}

func (s *fakeStore) Lanes(context.Context) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lists++
	if s.listed != nil {
		defer func() {
			select {
			case s.listed <- struct{}{}:
			default:
			}
		}()
	}
	var lanes []string
	for _, q := range s.queue {
		if l := q.msg.Dest.Lane(); !slices.Contains(lanes, l) {
			lanes = append(lanes, l)
		}
	}
	return lanes, nil
}

func (s *fakeStore) Claim(_ context.Context, req outbox.ClaimRequest) (outbox.Claim, error) {
	c, err := s.claim(req)
	if len(c.Messages) == 0 && c.Wait == 0 && s.onEmpty != nil {
		s.onEmpty()
	}
	return c, err
}

func (s *fakeStore) claim(req outbox.ClaimRequest) (outbox.Claim, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.claims++
	if s.failClaims > 0 {
		s.failClaims--
		return outbox.Claim{}, errStoreDown
	}
	now := s.clock.Now()
	var lane []*queued
	for _, q := range s.queue {
		if q.msg.Dest.Lane() == req.Lane {
			if q.leased.After(now) {
				return outbox.Claim{}, nil
			}
			lane = append(lane, q)
		}
	}
	if len(lane) == 0 {
		return outbox.Claim{Moved: req.Head != 0}, nil
	}
	if req.Head != 0 && (lane[0].msg.ID != req.Head || lane[0].msg.Step != req.HeadStep) {
		return outbox.Claim{Moved: true}, nil
	}
	if lane[0].available.After(now) {
		return outbox.Claim{Wait: lane[0].available.Sub(now)}, nil
	}
	free := s.lim.Free(now, req.Margin, req.Rules)
	if free == 0 {
		wait, _ := s.lim.Take(now, req.Margin, req.Rules)
		return outbox.Claim{Wait: wait}, nil
	}
	pace, busy := s.lim.Pace(now, req.Margin, req.Rules)
	since := now.Sub(lane[len(lane)-1].msg.CreatedAt)
	next := 0
	post, err := outbox.PlanPost(req, free, busy || len(lane) > free, busy && outbox.Arriving(req, since), func() (outbox.Candidate, bool, error) {
		if next == len(lane) {
			return outbox.Candidate{}, false, nil
		}
		q := lane[next]
		next++
		return outbox.Candidate{Message: q.msg, Due: !q.available.After(now)}, true, nil
	})
	if err != nil {
		return outbox.Claim{}, err
	}
	if !post.Full {
		if wait := outbox.PaceWait(req, pace, since); wait > 0 {
			return outbox.Claim{Wait: wait}, nil
		}
	}
	if _, ok := s.lim.Take(now, req.Margin, req.Rules); !ok {
		s.t.Error("Take failed with a free slot")
	}
	c := outbox.Claim{Storm: post.Storm}
	for _, q := range lane[:len(post.Messages)] {
		q.leased = now.Add(req.Lease)
		c.Messages = append(c.Messages, q.msg)
	}
	if post.Storm {
		c.Behind = len(lane) - len(c.Messages)
	}
	return c, nil
}

// settle removes (or, for retry, releases) the claimed messages ids and
// fails the test for any that is not claimed.
func (s *fakeStore) settle(op string, ids []int64, release func(*queued)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range ids {
		i := slices.IndexFunc(s.queue, func(q *queued) bool { return q.msg.ID == id })
		if i < 0 || s.queue[i].leased.IsZero() {
			s.t.Errorf("%s of message %d, which is not claimed", op, id)
			continue
		}
		if release != nil {
			s.queue[i].leased = time.Time{}
			release(s.queue[i])
			continue
		}
		s.queue = slices.Delete(s.queue, i, i+1)
	}
}

// fail uses up one of the failures *n counts, if any are left.
func (s *fakeStore) fail(n *int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if *n > 0 {
		*n--
		return true
	}
	return false
}

func (s *fakeStore) Ack(_ context.Context, ids []int64) error {
	s.mu.Lock()
	if s.failAcks > 0 {
		s.failAcks--
		s.mu.Unlock()
		return errStoreDown
	}
	s.mu.Unlock()
	s.settle("ack", ids, nil)
	return nil
}

// Head returns the lane's first message.
func (s *fakeStore) Head(_ context.Context, lane string) (delivery.Message, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, q := range s.queue {
		if q.msg.Dest.Lane() == lane {
			return q.msg, true, nil
		}
	}
	return delivery.Message{}, false, nil
}

// GroupStates returns the states Progress wrote.
func (s *fakeStore) GroupStates(_ context.Context, lane string, groups []string) (map[string]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]string{}
	for _, g := range groups {
		if st, ok := s.states[lane+" "+g]; ok {
			out[g] = st
		}
	}
	return out, nil
}

// Progress writes the states, acks and advances claimed messages.
func (s *fakeStore) Progress(_ context.Context, p outbox.Progress) error {
	s.mu.Lock()
	if s.states == nil {
		s.states = map[string]string{}
	}
	for _, g := range p.States {
		s.states[g.Lane+" "+g.Group] = g.State
	}
	now := s.clock.Now()
	s.mu.Unlock()
	s.settle("advance", p.Next, func(q *queued) {
		q.msg.Step++
		q.available = now
	})
	s.settle("ack", p.Acked, nil)
	return nil
}

func (s *fakeStore) Retry(_ context.Context, ids []int64, at time.Time, countAttempt bool, reason, _ string) error {
	if s.fail(&s.failRetries) {
		return errStoreDown
	}
	s.settle("retry", ids, func(q *queued) {
		q.available = at
		if countAttempt {
			q.msg.Attempts++
		}
	})
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tries = append(s.tries, retried{ids: ids, at: at, countAttempt: countAttempt, reason: reason})
	return nil
}

func (s *fakeStore) Bury(_ context.Context, ids []int64, reason, answer string) error {
	if s.fail(&s.failBuries) {
		return errStoreDown
	}
	var msgs []delivery.Message
	s.mu.Lock()
	for _, id := range ids {
		if i := slices.IndexFunc(s.queue, func(q *queued) bool { return q.msg.ID == id }); i >= 0 {
			msgs = append(msgs, s.queue[i].msg)
		}
	}
	s.mu.Unlock()
	s.settle("bury", ids, nil)
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, m := range msgs {
		s.dead = append(s.dead, outbox.DeadLetter{Message: m, Reason: reason, Answer: answer})
	}
	return nil
}

// Renew extends the lease of claimed messages, as outbox.Store's does.
func (s *fakeStore) Renew(_ context.Context, ids []int64, lease time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.renews++
	for _, q := range s.queue {
		if !q.leased.IsZero() && slices.Contains(ids, q.msg.ID) {
			q.leased = s.clock.Now().Add(lease)
		}
	}
	return nil
}

func (s *fakeStore) Pause(_ context.Context, key string, until time.Time) error {
	s.lim.Pause(key, until)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pauses = append(s.pauses, pause{key, until})
	return nil
}

func (s *fakeStore) Stats(context.Context) ([]outbox.Stat, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats, nil
}

func (s *fakeStore) Wake() <-chan struct{} { return s.wake }

// left returns the bodies still queued, and whether any is leased.
func (s *fakeStore) left() (bodies []string, leased bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, q := range s.queue {
		bodies = append(bodies, q.msg.Body)
		leased = leased || !q.leased.IsZero()
	}
	return bodies, leased
}

func (s *fakeStore) deadLetters() []outbox.DeadLetter {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.dead)
}

func (s *fakeStore) paused() []pause {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.pauses)
}

func (s *fakeStore) retries() []retried {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.tries)
}

// post is one call a fakeSender received.
type post struct {
	dest delivery.Destination
	body string
	at   time.Time
}

// fakeSender records posts and answers each with its script (nil: success).
// It fails the test if two posts to one lane are ever in flight at once.
type fakeSender struct {
	t      testing.TB
	script func(n int, p post) (delivery.Receipt, error)
	clock  Clock // the real one unless a test sets the dispatcher's fake

	mu       sync.Mutex
	posts    []post
	inFlight map[string]int
	maxAll   int
	changed  chan struct{}
}

func newFakeSender(t testing.TB, script func(n int, p post) (delivery.Receipt, error)) *fakeSender {
	return &fakeSender{t: t, script: script, clock: realClock{}, inFlight: map[string]int{}, changed: make(chan struct{})}
}

func (f *fakeSender) Send(ctx context.Context, dest delivery.Destination, body string) (delivery.Receipt, error) {
	p := post{dest: dest, body: body, at: f.clock.Now()}
	f.mu.Lock()
	n := len(f.posts)
	f.posts = append(f.posts, p)
	lane := dest.Lane()
	f.inFlight[lane]++
	if f.inFlight[lane] > 1 {
		f.t.Errorf("two posts in flight on lane %s", lane)
	}
	all := 0
	for _, v := range f.inFlight {
		all += v
	}
	f.maxAll = max(f.maxAll, all)
	close(f.changed)
	f.changed = make(chan struct{})
	f.mu.Unlock()

	defer func() {
		f.mu.Lock()
		f.inFlight[lane]--
		f.mu.Unlock()
	}()
	if f.script == nil {
		return delivery.Receipt{}, nil
	}
	return f.script(n, p)
}

// sent returns the posts received so far.
func (f *fakeSender) sent() []post {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.posts)
}

// fakeSenders maps sender names to senders and policies.
type fakeSenders map[string]struct {
	s Sender
	p Policy
}

func (f fakeSenders) Lookup(name string) (Sender, Policy, bool) {
	e, ok := f[name]
	return e.s, e.p, ok
}
