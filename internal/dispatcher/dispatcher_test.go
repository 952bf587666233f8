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

	"github.com/relayhq/relay/internal/delivery"
)

func room(id string) delivery.Destination { return delivery.Destination{Sender: cw, Room: id} }

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
	reg, stop := start(t, store, senders(sender, Policy{Kind: delivery.KindChatwork}), fastOptions(), nil)

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
	_, stop := start(t, store, senders(sender, Policy{Kind: delivery.KindChatwork}), fastOptions(), nil)
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
	_, stop := start(t, store, senders(sender, Policy{Kind: delivery.KindChatwork}), opts, nil)
	eventually(t, "the queue to drain", func() bool { left, _ := store.left(); return len(left) == 0 })
	stop()
	if sender.maxAll > 2 {
		t.Errorf("got %d posts in flight, want at most 2", sender.maxAll)
	}
}

func TestRetriesRetryableFailuresThenDelivers(t *testing.T) {
	t.Parallel()
	store := newFakeStore(t)
	sender := newFakeSender(t, func(n int, _ post) (delivery.Receipt, error) {
		if n < 2 {
			return delivery.Receipt{}, &delivery.Error{Class: delivery.Retryable, Reason: "http_503", Status: 503}
		}
		return delivery.Receipt{}, nil
	})
	store.add(room("1"), time.Now(), "disk full", "disk ok")
	reg, stop := start(t, store, senders(sender, Policy{Kind: delivery.KindChatwork}), fastOptions(), nil)
	eventually(t, "the queue to drain", func() bool { left, _ := store.left(); return len(left) == 0 })
	stop()

	var got []string
	for _, p := range sender.sent() {
		got = append(got, p.body)
	}
	if want := []string{"disk full", "disk full", "disk full", "disk ok"}; !slices.Equal(got, want) {
		t.Errorf("got posts %q, want %q: the head is retried before the next", got, want)
	}
	tries := store.retries()
	if len(tries) != 2 || !tries[0].countAttempt || !tries[1].countAttempt || tries[0].reason != "http_503" {
		t.Errorf("got retries %+v, want two counted http_503 retries", tries)
	}
	checks := []struct {
		name   string
		labels []string
		want   float64
	}{
		{"relay_messages_retried_total", []string{"sender", cw, "reason", "http_503"}, 2},
		{"relay_posts_total", []string{"sender", cw, "outcome", "retryable"}, 2},
		{"relay_posts_total", []string{"sender", cw, "outcome", "success"}, 2},
		{"relay_messages_sent_total", []string{"sender", cw}, 2},
		{"relay_messages_dead_lettered_total", []string{"sender", cw, "reason", "expired"}, 0},
		{"relay_upstream_request_duration_seconds", []string{"sender", cw}, 4},
	}
	for _, c := range checks {
		if got := value(t, reg, c.name, c.labels...); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
}

func TestMaxAttemptsBuriesTheMessage(t *testing.T) {
	t.Parallel()
	store := newFakeStore(t)
	sender := newFakeSender(t, func(int, post) (delivery.Receipt, error) {
		return delivery.Receipt{}, &delivery.Error{Class: delivery.Retryable, Reason: "transport"}
	})
	store.add(room("1"), time.Now(), "doomed")
	opts := fastOptions()
	opts.MaxAttempts = 3
	reg, stop := start(t, store, senders(sender, Policy{Kind: delivery.KindChatwork}), opts, nil)
	eventually(t, "a dead letter", func() bool { return len(store.deadLetters()) == 1 })
	stop()
	if got := len(sender.sent()); got != 3 {
		t.Errorf("got %d posts, want 3", got)
	}
	if dl := store.deadLetters()[0]; dl.Reason != "transport" || dl.Body != "doomed" {
		t.Errorf("got dead letter %q %q, want transport", dl.Reason, dl.Body)
	}
	if got := value(t, reg, "relay_messages_dead_lettered_total", "sender", cw, "reason", "transport"); got != 1 {
		t.Errorf("dead lettered = %v, want 1", got)
	}
}

func TestPermanentFailureGoesToTheDeadLettersAtOnce(t *testing.T) {
	t.Parallel()
	store := newFakeStore(t)
	sender := newFakeSender(t, func(n int, _ post) (delivery.Receipt, error) {
		if n == 0 {
			return delivery.Receipt{}, &delivery.Error{Class: delivery.Permanent, Reason: "http_404", Status: 404, Answer: "Room 1 not found."}
		}
		return delivery.Receipt{}, nil
	})
	store.add(room("1"), time.Now(), "lost", "next")
	reg, stop := start(t, store, senders(sender, Policy{Kind: delivery.KindChatwork}), fastOptions(), nil)
	eventually(t, "the queue to drain", func() bool { left, _ := store.left(); return len(left) == 0 })
	stop()
	dead := store.deadLetters()
	if len(dead) != 1 || dead[0].Body != "lost" || dead[0].Reason != "http_404" || dead[0].Answer != "Room 1 not found." {
		t.Fatalf("got dead letters %+v, want the first message with reason http_404 and the answer", dead)
	}
	if n := len(store.retries()); n != 0 {
		t.Errorf("got %d retries, want none", n)
	}
	if got := value(t, reg, "relay_messages_dead_lettered_total", "sender", cw, "reason", "http_404"); got != 1 {
		t.Errorf("dead lettered = %v, want 1", got)
	}
}

func TestExpiredAndUnroutableMessagesAreBuried(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		dest    delivery.Destination
		created time.Time
		reason  string
	}{
		{"older than MaxAge", room("1"), time.Now().Add(-25 * time.Hour), "expired"},
		{"unknown sender", delivery.Destination{Sender: "gone", Room: "1"}, time.Now(), "unknown_sender"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			store := newFakeStore(t)
			sender := newFakeSender(t, nil)
			store.add(c.dest, c.created, "stale")
			store.add(room("1"), time.Now(), "fresh")
			reg, stop := start(t, store, senders(sender, Policy{Kind: delivery.KindChatwork}), fastOptions(), nil)
			eventually(t, "the queue to drain", func() bool { left, _ := store.left(); return len(left) == 0 })
			stop()
			dead := store.deadLetters()
			if len(dead) != 1 || dead[0].Body != "stale" || dead[0].Reason != c.reason {
				t.Fatalf("got dead letters %+v, want the stale message with reason %s", dead, c.reason)
			}
			posts := sender.sent()
			if len(posts) != 1 || posts[0].body != "fresh" {
				t.Errorf("got posts %+v, want only the fresh one", posts)
			}
			if got := value(t, reg, "relay_messages_dead_lettered_total", "sender", c.dest.Sender, "reason", c.reason); got != 1 {
				t.Errorf("dead lettered = %v, want 1", got)
			}
		})
	}
}

func TestRateLimitedPausesWithoutUsingAttempts(t *testing.T) {
	t.Parallel()
	policy := Policy{Kind: delivery.KindChatwork, Room: Limit{10, 10 * time.Second}, Token: Limit{300, 5 * time.Minute}, TokenKey: "chatwork/token/ab12"}
	cases := []struct {
		name      string
		tokenWide bool
		key       string
	}{
		{"room limit", false, "chatwork/room/7"},
		{"token quota", true, "chatwork/token/ab12"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			store := newFakeStore(t)
			until := time.Now().Add(300 * time.Millisecond)
			sender := newFakeSender(t, func(n int, _ post) (delivery.Receipt, error) {
				if n == 0 {
					return delivery.Receipt{}, &delivery.Error{Class: delivery.RateLimited, Reason: "http_429", Status: 429, Until: until, TokenWide: c.tokenWide}
				}
				return delivery.Receipt{}, nil
			})
			store.add(room("7"), time.Now(), "paced")
			opts := fastOptions()
			opts.MaxAttempts = 1 // a counted attempt would bury the message
			reg, stop := start(t, store, senders(sender, policy), opts, nil)
			eventually(t, "the queue to drain", func() bool { left, _ := store.left(); return len(left) == 0 })
			stop()

			if p := store.paused(); len(p) != 1 || p[0].key != c.key || !p[0].until.Equal(until) {
				t.Errorf("got pauses %+v, want %s until the upstream's reset", p, c.key)
			}
			tries := store.retries()
			if len(tries) != 1 || tries[0].countAttempt || !tries[0].at.Equal(until) {
				t.Errorf("got retries %+v, want one uncounted retry at the reset", tries)
			}
			posts := sender.sent()
			if len(posts) != 2 || posts[1].at.Before(until) {
				t.Errorf("got posts %+v, want the second after %v", posts, until)
			}
			if len(store.deadLetters()) != 0 {
				t.Error("a rate-limited message was buried")
			}
			if got := value(t, reg, "relay_upstream_rate_limited_total", "sender", cw); got != 1 {
				t.Errorf("rate limited = %v, want 1", got)
			}
		})
	}
}

func TestRateLimitedWithoutResetWaitsTenSeconds(t *testing.T) {
	t.Parallel()
	store := newFakeStore(t)
	sender := newFakeSender(t, func(int, post) (delivery.Receipt, error) {
		return delivery.Receipt{}, &delivery.Error{Class: delivery.RateLimited, Reason: "http_429", Status: 429}
	})
	store.add(room("7"), time.Now(), "paced")
	before := time.Now()
	_, stop := start(t, store, senders(sender, Policy{Kind: delivery.KindChatwork}), fastOptions(), nil)
	eventually(t, "a pause", func() bool { return len(store.retries()) == 1 })
	stop()
	p := store.paused()
	if len(p) != 1 || p[0].key != "chatwork/room/7" || p[0].until.Before(before.Add(roomPause)) {
		t.Errorf("got pauses %+v, want chatwork/room/7 for %v", p, roomPause)
	}
	if left, leased := store.left(); len(left) != 1 || leased {
		t.Errorf("got %q queued (leased %v), want the message released", left, leased)
	}
}

func TestSpentTokenQuotaPausesTheToken(t *testing.T) {
	t.Parallel()
	store := newFakeStore(t)
	reset := time.Now().Add(time.Minute).Truncate(time.Second)
	sender := newFakeSender(t, func(int, post) (delivery.Receipt, error) {
		return delivery.Receipt{Quota: delivery.Quota{Limit: 300, Remaining: 0, Reset: reset}}, nil
	})
	store.add(room("7"), time.Now(), "last one")
	policy := Policy{Kind: delivery.KindChatwork, TokenKey: "chatwork/token/ab12"}
	_, stop := start(t, store, senders(sender, policy), fastOptions(), nil)
	eventually(t, "the queue to drain", func() bool { left, _ := store.left(); return len(left) == 0 })
	stop()
	if p := store.paused(); len(p) != 1 || p[0].key != "chatwork/token/ab12" || !p[0].until.Equal(reset) {
		t.Errorf("got pauses %+v, want the token until %v", p, reset)
	}
}

func TestCoalescesWhenTheLimiterWouldMakeTheLaneWait(t *testing.T) {
	t.Parallel()
	store := newFakeStore(t)
	sender := newFakeSender(t, nil)
	want := bodies("alert", 10) // 8 characters each
	store.add(room("1"), time.Now(), want...)
	policy := Policy{
		Kind: delivery.KindChatwork, Room: Limit{2, 300 * time.Millisecond},
		MaxChars: 3*8 + 2*3, Separator: "\n-\n",
	}
	reg, stop := start(t, store, senders(sender, policy), fastOptions(), nil)
	eventually(t, "the queue to drain", func() bool { left, _ := store.left(); return len(left) == 0 })
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
	// 10 queued, 2 slots: fold 3+3; then 4 queued, 2 slots: 3, then 1.
	if len(posts) != 4 {
		t.Errorf("got %d posts, want 4", len(posts))
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
	d, err := New(store, senders(ctxSender{sender, &sendCtxErr}, Policy{Kind: delivery.KindChatwork}), fastOptions(), nil, nil)
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

func TestChatMessengerTooManyRequestsBacksOffTheToken(t *testing.T) {
	t.Parallel()
	store := newFakeStore(t)
	sender := newFakeSender(t, func(n int, _ post) (delivery.Receipt, error) {
		if n < 3 {
			return delivery.Receipt{}, &delivery.Error{Class: delivery.RateLimited, Reason: "cam_491"}
		}
		return delivery.Receipt{}, nil
	})
	dm := delivery.Destination{Sender: cw, Panel: delivery.PanelMessenger, Users: []string{"a@x.com"}}
	store.add(dm, time.Now(), "page")
	opts := fastOptions()
	opts.MaxAttempts = 1
	opts.Rand = func() float64 { return 0.5 }
	t0 := time.Now()
	opts.Now = func() time.Time { return t0 } // the pauses end in the past: no real waits
	policy := Policy{Kind: delivery.KindChatMessenger, TokenKey: "chatmessenger/token/9f"}
	_, stop := start(t, store, senders(sender, policy), opts, nil)
	eventually(t, "the queue to drain", func() bool { left, _ := store.left(); return len(left) == 0 })
	stop()

	pauses := store.paused()
	if len(pauses) != 3 {
		t.Fatalf("got pauses %+v, want 3", pauses)
	}
	tries := store.retries()
	// Half of a backoff ceiling of 1, 2, then 4 ms: it grows while the
	// upstream keeps saying "too many requests".
	for i, want := range []time.Duration{500 * time.Microsecond, time.Millisecond, 2 * time.Millisecond} {
		if pauses[i].key != "chatmessenger/token/9f" || pauses[i].until.Sub(t0) != want {
			t.Errorf("pause %d: got %s for %v, want the token for %v", i, pauses[i].key, pauses[i].until.Sub(t0), want)
		}
		if tries[i].countAttempt || !tries[i].at.Equal(pauses[i].until) {
			t.Errorf("retry %d: got %+v, want uncounted, at the pause end", i, tries[i])
		}
	}
	if len(store.deadLetters()) != 0 {
		t.Error("a rate-limited message was buried")
	}
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
	_, stop := start(t, store, senders(sender, Policy{Kind: delivery.KindChatwork}), opts, nil)
	eventually(t, "4 posts", func() bool { return len(sender.sent()) == 4 })
	stop()
}
