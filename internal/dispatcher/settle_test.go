package dispatcher

import (
	"slices"
	"testing"
	"time"

	"github.com/relayhq/relay/internal/delivery"
)

func TestRetriesRetryableFailuresThenDelivers(t *testing.T) {
	t.Parallel()
	store := newFakeStore(t)
	sender := newFakeSender(t, func(n int, _ post) (delivery.Receipt, error) {
		if n < 2 {
			return delivery.Receipt{}, &delivery.Error{Class: delivery.Retryable, Reason: "http_503", Status: 503}
		}
		return delivery.Receipt{}, nil
	})
	opts := fastOptions()
	opts.Rand = func() float64 { return 0.5 }
	clock := onFakeClock(&opts, store, sender)
	store.add(room("1"), clock.Now(), "disk full", "disk ok")
	reg, stop := start(t, store, senders(sender, Policy{Scope: "chatwork", RateLimitPause: 10 * time.Second}), opts, nil)
	drive(t, clock, "the queue to drain", func() bool { left, _ := store.left(); return len(left) == 0 })
	stop()

	posts := sender.sent()
	var got []string
	for _, p := range posts {
		got = append(got, p.body)
	}
	if want := []string{"disk full", "disk full", "disk full", "disk ok"}; !slices.Equal(got, want) {
		t.Fatalf("got posts %q, want %q: the head is retried before the next", got, want)
	}
	tries := store.retries()
	if len(tries) != 2 || !tries[0].countAttempt || !tries[1].countAttempt || tries[0].reason != "http_503" {
		t.Fatalf("got retries %+v, want two counted http_503 retries", tries)
	}
	// Half of a backoff ceiling of 1 ms, then 2 ms; each retry is posted
	// when its backoff ends.
	for i, want := range []time.Duration{500 * time.Microsecond, time.Millisecond} {
		if got := tries[i].at.Sub(posts[i].at); got != want {
			t.Errorf("retry %d: backoff %v, want %v", i, got, want)
		}
		if !posts[i+1].at.Equal(tries[i].at) {
			t.Errorf("retry %d: posted %v after the failure, want %v", i, posts[i+1].at.Sub(posts[i].at), want)
		}
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
	opts := fastOptions()
	opts.MaxAttempts = 3
	clock := onFakeClock(&opts, store, sender)
	store.add(room("1"), clock.Now(), "doomed")
	reg, stop := start(t, store, senders(sender, Policy{Scope: "chatwork", RateLimitPause: 10 * time.Second}), opts, nil)
	drive(t, clock, "a dead letter", func() bool { return len(store.deadLetters()) == 1 })
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
	reg, stop := start(t, store, senders(sender, Policy{Scope: "chatwork", RateLimitPause: 10 * time.Second}), fastOptions(), nil)
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

func TestExpiredMessagesAreBuried(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		dest    delivery.Destination
		created time.Time
		reason  string
	}{
		{"older than MaxAge", room("1"), time.Now().Add(-25 * time.Hour), "expired"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			store := newFakeStore(t)
			sender := newFakeSender(t, nil)
			store.add(c.dest, c.created, "stale")
			store.add(room("1"), time.Now(), "fresh")
			reg, stop := start(t, store, senders(sender, Policy{Scope: "chatwork", RateLimitPause: 10 * time.Second}), fastOptions(), nil)
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
	policy := Policy{Scope: "chatwork", RateLimitPause: 10 * time.Second, Destination: Limit{10, 10 * time.Second}, Token: Limit{300, 5 * time.Minute}, TokenKey: "chatwork/token/ab12"}
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
			opts := fastOptions()
			opts.MaxAttempts = 1 // a counted attempt would bury the message
			var until time.Time
			sender := newFakeSender(t, func(n int, p post) (delivery.Receipt, error) {
				if n == 0 {
					until = p.at.Add(10 * time.Second)
					return delivery.Receipt{}, &delivery.Error{Class: delivery.RateLimited, Reason: "http_429", Status: 429, Until: until, TokenWide: c.tokenWide}
				}
				return delivery.Receipt{}, nil
			})
			clock := onFakeClock(&opts, store, sender)
			store.add(room("7"), clock.Now(), "paced")
			reg, stop := start(t, store, senders(sender, policy), opts, nil)
			drive(t, clock, "the queue to drain", func() bool { left, _ := store.left(); return len(left) == 0 })
			stop()

			if p := store.paused(); len(p) != 1 || p[0].key != c.key || !p[0].until.Equal(until) {
				t.Errorf("got pauses %+v, want %s until the upstream's reset", p, c.key)
			}
			tries := store.retries()
			if len(tries) != 1 || tries[0].countAttempt || !tries[0].at.Equal(until) {
				t.Errorf("got retries %+v, want one uncounted retry at the reset", tries)
			}
			posts := sender.sent()
			if len(posts) != 2 || !posts[1].at.Equal(until) {
				t.Errorf("got posts %+v, want the second at the reset %v", posts, until)
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
	_, stop := start(t, store, senders(sender, Policy{Scope: "chatwork", RateLimitPause: 10 * time.Second}), fastOptions(), nil)
	eventually(t, "a pause", func() bool { return len(store.retries()) == 1 })
	stop()
	p := store.paused()
	if len(p) != 1 || p[0].key != "chatwork/room/7" || p[0].until.Before(before.Add(10*time.Second)) {
		t.Errorf("got pauses %+v, want chatwork/room/7 for the policy's 10s", p)
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
	policy := Policy{Scope: "chatwork", RateLimitPause: 10 * time.Second, TokenKey: "chatwork/token/ab12"}
	_, stop := start(t, store, senders(sender, policy), fastOptions(), nil)
	eventually(t, "the queue to drain", func() bool { left, _ := store.left(); return len(left) == 0 })
	stop()
	if p := store.paused(); len(p) != 1 || p[0].key != "chatwork/token/ab12" || !p[0].until.Equal(reset) {
		t.Errorf("got pauses %+v, want the token until %v", p, reset)
	}
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
	dm := delivery.Destination{Sender: cw, Address: "panel/messenger?users=a@x.com"}
	opts := fastOptions()
	opts.MaxAttempts = 1
	opts.Rand = func() float64 { return 0.5 }
	clock := onFakeClock(&opts, store, sender)
	store.add(dm, clock.Now(), "page")
	policy := Policy{Scope: "chatmessenger", TokenKey: "chatmessenger/token/9f"}
	_, stop := start(t, store, senders(sender, policy), opts, nil)
	drive(t, clock, "the queue to drain", func() bool { left, _ := store.left(); return len(left) == 0 })
	stop()

	pauses := store.paused()
	if len(pauses) != 3 {
		t.Fatalf("got pauses %+v, want 3", pauses)
	}
	tries := store.retries()
	posts := sender.sent()
	// Half of a backoff ceiling of 1, 2, then 4 ms: it grows while the
	// upstream keeps saying "too many requests".
	for i, want := range []time.Duration{500 * time.Microsecond, time.Millisecond, 2 * time.Millisecond} {
		if got := pauses[i].until.Sub(posts[i].at); pauses[i].key != "chatmessenger/token/9f" || got != want {
			t.Errorf("pause %d: got %s for %v, want the token for %v", i, pauses[i].key, got, want)
		}
		if tries[i].countAttempt || !tries[i].at.Equal(pauses[i].until) {
			t.Errorf("retry %d: got %+v, want uncounted, at the pause end", i, tries[i])
		}
	}
	if len(store.deadLetters()) != 0 {
		t.Error("a rate-limited message was buried")
	}
}

// TestRetryableHonoursRetryAfter: a 503 that says when to come back is not
// retried earlier than that, whatever the backoff.
func TestRetryableHonoursRetryAfter(t *testing.T) {
	t.Parallel()
	store := newFakeStore(t)
	later := time.Now().Add(time.Hour)
	sender := newFakeSender(t, func(int, post) (delivery.Receipt, error) {
		return delivery.Receipt{}, &delivery.Error{Class: delivery.Retryable, Reason: "http_503", Status: 503, Until: later}
	})
	store.add(room("1"), time.Now(), "busy")
	_, stop := start(t, store, senders(sender, Policy{Scope: "chatwork"}), fastOptions(), nil)
	eventually(t, "a retry", func() bool { return len(store.retries()) == 1 })
	stop()
	if r := store.retries()[0]; !r.at.Equal(later) || !r.countAttempt {
		t.Errorf("got retry %+v, want one counted retry at the upstream's %v", r, later)
	}
}
