package dispatcher

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/relayhq/relay/internal/delivery"
)

func room(id string) delivery.Destination {
	return delivery.Destination{Sender: cw, Address: "room/" + id}
}

func bodies(prefix string, n int) []string {
	var res []string
	for i := range n {
		res = append(res, fmt.Sprintf("%s-%02d", prefix, i))
	}
	return res
}

func TestDeliversEachLaneInOrder(t *testing.T) {
	t.Parallel()
	store := newFakeStore(t)
	sender := newFakeSender(t, nil)
	want := bodies("a", 20)
	store.add(room("1"), time.Now(), want...)
	reg, stop := start(t, store, senders(sender, Policy{Scope: "chatwork", RateLimitPause: 10 * time.Second}), fastOptions(), nil)

	eventually(t, "the queue to drain", func() bool { left, _ := store.left(); return len(left) == 0 })
	stop()
	var got []string
	for _, p := range sender.sent() {
		got = append(got, p.body)
	}
	if !slices.Equal(got, want) {
		t.Errorf("got posts %q, want %q", got, want)
	}
	if got := value(t, reg, "relay_messages_sent_total", "sender", cw); got != 20 {
		t.Errorf("relay_messages_sent_total = %v, want 20", got)
	}
}

func TestRunsLanesInParallel(t *testing.T) {
	t.Parallel()
	store := newFakeStore(t)
	const lanes = 3
	var (
		mu      sync.Mutex
		arrived int
		all     = make(chan struct{})
	)
	// Each first post waits until every lane has one in flight: this can
	// only finish if the lanes run at the same time.
	sender := newFakeSender(t, func(n int, p post) (delivery.Receipt, error) {
		mu.Lock()
		arrived++
		if arrived == lanes {
			close(all)
		}
		mu.Unlock()
		select {
		case <-all:
			return delivery.Receipt{}, nil
		case <-time.After(10 * time.Second):
			return delivery.Receipt{}, errors.New("lanes did not run in parallel")
		}
	})
	for i := range lanes {
		store.add(room(fmt.Sprint(i+1)), time.Now(), "first", "second")
	}
	_, stop := start(t, store, senders(sender, Policy{Scope: "chatwork", RateLimitPause: 10 * time.Second}), fastOptions(), nil)
	eventually(t, "the queue to drain", func() bool { left, _ := store.left(); return len(left) == 0 })
	stop()
	if got := len(sender.sent()); got != 2*lanes {
		t.Errorf("got %d posts, want %d", got, 2*lanes)
	}
	if sender.maxAll != lanes {
		t.Errorf("got at most %d posts in flight, want %d", sender.maxAll, lanes)
	}
}

func TestConcurrencyBoundsPostsInFlight(t *testing.T) {
	t.Parallel()
	store := newFakeStore(t)
	sender := newFakeSender(t, func(int, post) (delivery.Receipt, error) {
		time.Sleep(5 * time.Millisecond)
		return delivery.Receipt{}, nil
	})
	for i := range 6 {
		store.add(room(fmt.Sprint(i+1)), time.Now(), bodies("m", 3)...)
	}
	opts := fastOptions()
	opts.Concurrency = 2
	_, stop := start(t, store, senders(sender, Policy{Scope: "chatwork", RateLimitPause: 10 * time.Second}), opts, nil)
	eventually(t, "the queue to drain", func() bool { left, _ := store.left(); return len(left) == 0 })
	stop()
	if sender.maxAll > 2 {
		t.Errorf("got %d posts in flight, want at most 2", sender.maxAll)
	}
}

func TestCoalescesWhenTheLimiterWouldMakeTheLaneWait(t *testing.T) {
	t.Parallel()
	store := newFakeStore(t)
	sender := newFakeSender(t, nil)
	opts := fastOptions()
	clock := onFakeClock(&opts, store, sender)
	want := bodies("alert", 10) // 8 characters each
	store.add(room("1"), clock.Now(), want...)
	policy := Policy{
		Scope: "chatwork", RateLimitPause: 10 * time.Second, Destination: Limit{2, 10 * time.Second},
		MaxChars: 3*8 + 2*3, Separator: "\n-\n",
	}
	reg, stop := start(t, store, senders(sender, policy), opts, nil)
	drive(t, clock, "the queue to drain", func() bool { left, _ := store.left(); return len(left) == 0 })
	stop()

	posts := sender.sent()
	var got []string
	for _, p := range posts {
		if n := delivery.Len(p.body); n > policy.MaxChars {
			t.Errorf("post of %d characters, over %d", n, policy.MaxChars)
		}
		got = append(got, strings.Split(p.body, policy.Separator)...)
	}
	if !slices.Equal(got, want) {
		t.Errorf("got messages %q, want %q in order", got, want)
	}
	// 10 queued, 2 slots: fold 3+3; then 4 queued, 2 slots: 3, then 1,
	// once the first window is over.
	if len(posts) != 4 {
		t.Fatalf("got %d posts, want 4", len(posts))
	}
	if gap := posts[2].at.Sub(posts[0].at); gap != 10*time.Second {
		t.Errorf("the third post came %v after the first, want the room's window of 10s", gap)
	}
	if got := value(t, reg, "relay_coalesced_messages", "sender", cw); got != float64(len(posts)) {
		t.Errorf("coalesced samples = %v, want %d", got, len(posts))
	}
	if got := value(t, reg, "relay_limiter_wait_seconds", "sender", cw); got < 1 {
		t.Errorf("limiter waits observed = %v, want at least 1", got)
	}
}

func TestStopFinishesThePostInFlightAndLeavesTheRest(t *testing.T) {
	t.Parallel()
	store := newFakeStore(t)
	inFlight, release := make(chan struct{}), make(chan struct{})
	var sendCtxErr error
	sender := newFakeSender(t, func(n int, _ post) (delivery.Receipt, error) {
		if n == 0 {
			close(inFlight)
			<-release
		}
		return delivery.Receipt{}, nil
	})
	store.add(room("1"), time.Now(), bodies("m", 5)...)
	d, err := New(store, senders(ctxSender{sender, &sendCtxErr}, Policy{Scope: "chatwork", RateLimitPause: 10 * time.Second}), fastOptions(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	<-inFlight
	cancel()
	close(release)
	if err := <-done; err != nil {
		t.Fatalf("Run returned %v, want nil", err)
	}

	if sendCtxErr != nil {
		t.Errorf("the post in flight was cancelled: %v", sendCtxErr)
	}
	left, leased := store.left()
	if want := bodies("m", 5)[1:]; !slices.Equal(left, want) {
		t.Errorf("got %q left, want %q: the post in flight acked, the rest untouched", left, want)
	}
	if leased {
		t.Error("a message is still leased after Run returned")
	}
	if got := len(sender.sent()); got != 1 {
		t.Errorf("got %d posts, want 1", got)
	}
}

// ctxSender records the context error its Sender saw on return.
type ctxSender struct {
	Sender
	err *error
}

func (s ctxSender) Send(ctx context.Context, dest delivery.Destination, body string) (delivery.Receipt, error) {
	rc, err := s.Sender.Send(ctx, dest, body)
	*s.err = ctx.Err()
	return rc, err
}

func TestWakeStartsDeliveryWithoutWaitingForThePoll(t *testing.T) {
	t.Parallel()
	store := newFakeStore(t)
	sender := newFakeSender(t, nil)
	// A message enqueued after the lane's worker found the lane empty, and
	// listed by the supervisor while that worker still holds the lane,
	// must not wait for the next poll: the worker has to look again.
	store.listed = make(chan struct{}, 1)
	var rounds int
	store.onEmpty = func() {
		if rounds == 3 {
			return
		}
		rounds++
		select {
		case <-store.listed:
		default:
		}
		store.add(room("1"), time.Now(), fmt.Sprint(rounds))
		<-store.listed // the supervisor saw the wake and the lane
	}
	opts := fastOptions()
	opts.PollInterval = time.Hour // only Store.Wake can start a lane
	store.add(room("1"), time.Now(), "0")
	_, stop := start(t, store, senders(sender, Policy{Scope: "chatwork", RateLimitPause: 10 * time.Second}), opts, nil)
	eventually(t, "4 posts", func() bool { return len(sender.sent()) == 4 })
	stop()
}

func TestOutboxFailuresStallTheLaneAndNeverPostTwice(t *testing.T) {
	t.Parallel()
	store := newFakeStore(t)
	// Two claims fail, then the ack of "a" fails for longer than its
	// lease: the ack is tried again until it holds, and "a" is not posted
	// a second time.
	store.failClaims, store.failAcks = 2, 4
	sender := newFakeSender(t, nil)
	core, logs := observer.New(zapcore.InfoLevel)
	opts := fastOptions()
	opts.SendTimeout, opts.Lease = 20*time.Millisecond, 50*time.Millisecond
	opts.SettleBackoffBase, opts.SettleBackoffMax = 10*time.Millisecond, 20*time.Millisecond
	clock := onFakeClock(&opts, store, sender)
	store.add(room("1"), clock.Now(), "a", "b")
	reg, stop := start(t, store, senders(sender, Policy{Scope: "chatwork", RateLimitPause: 10 * time.Second}), opts, zap.New(core))
	drive(t, clock, "the queue to drain", func() bool { left, _ := store.left(); return len(left) == 0 })
	stop()

	var got []string
	for _, p := range sender.sent() {
		got = append(got, p.body)
	}
	if want := []string{"a", "b"}; !slices.Equal(got, want) {
		t.Errorf("got posts %q, want %q", got, want)
	}
	if n := logs.FilterMessage("lane stalled by the outbox").Len(); n != 2 {
		t.Errorf("got %d stall logs, want 2 (two claims)", n)
	}
	if n := logs.FilterMessage("cannot record the outcome of a post; retrying").Len(); n != 1 {
		t.Errorf("got %d settle failure logs, want 1 (logged once, not per try)", n)
	}
	if got := value(t, reg, "relay_settle_store_errors_total", "sender", cw); got != 4 {
		t.Errorf("relay_settle_store_errors_total = %v, want 4", got)
	}
	store.mu.Lock()
	renews := store.renews
	store.mu.Unlock()
	if renews == 0 {
		t.Error("the lease was not renewed while the ack was retried for longer than the lease")
	}
}

func TestFailedRetryAndBuryAreTriedAgain(t *testing.T) {
	t.Parallel()
	store := newFakeStore(t)
	store.failRetries, store.failBuries = 3, 3
	sender := newFakeSender(t, func(n int, p post) (delivery.Receipt, error) {
		switch {
		case p.body == "bad":
			return delivery.Receipt{}, &delivery.Error{Class: delivery.Permanent, Reason: "http_404"}
		case n == 0:
			return delivery.Receipt{}, &delivery.Error{Class: delivery.Retryable, Reason: "http_503"}
		}
		return delivery.Receipt{}, nil
	})
	opts := fastOptions()
	opts.SettleBackoffBase, opts.SettleBackoffMax = time.Millisecond, 2*time.Millisecond
	clock := onFakeClock(&opts, store, sender)
	store.add(room("1"), clock.Now(), "flaky", "bad", "ok")
	start(t, store, senders(sender, Policy{Scope: "chatwork", RateLimitPause: 10 * time.Second}), opts, nil)
	drive(t, clock, "the queue to drain", func() bool { left, _ := store.left(); return len(left) == 0 })

	var got []string
	for _, p := range sender.sent() {
		got = append(got, p.body)
	}
	if want := []string{"flaky", "flaky", "bad", "ok"}; !slices.Equal(got, want) {
		t.Errorf("got posts %q, want %q", got, want)
	}
	if dead := store.deadLetters(); len(dead) != 1 || dead[0].Body != "bad" {
		t.Errorf("got dead letters %+v, want only \"bad\"", dead)
	}
}
