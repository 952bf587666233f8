package dispatcher

import (
	"fmt"
	"testing"
	"time"
)

func TestABurstOfEnqueuesIsListedOncePerPause(t *testing.T) {
	t.Parallel()
	store := newFakeStore(t)
	sender := newFakeSender(t, nil)
	policy := Policy{Scope: "chatwork", RateLimitPause: 10 * time.Second, Destination: Limit{1, time.Hour}, MaxChars: 1000, Separator: "\n"}
	opts := fastOptions()
	opts.PollInterval = time.Hour // only Store.Wake makes the supervisor list
	store.add(room("1"), time.Now(), "first")
	reg, stop := start(t, store, senders(sender, policy), opts, nil)
	eventually(t, "the first post", func() bool { return len(sender.sent()) == 1 })
	store.add(room("1"), time.Now(), "second")
	// The room's one slot per hour is taken: "second" waits.
	eventually(t, "the lane to wait", func() bool {
		return value(t, reg, "relay_limiter_wait_seconds", "sender", cw) >= 1
	})

	lists0, claims0 := store.calls()
	const burst = 200
	began := time.Now()
	for i := range burst {
		store.add(room("1"), time.Now(), fmt.Sprint(i))
		// Let the supervisor see every wake, as it would see one per
		// commit under a continuous ingest.
		time.Sleep(50 * time.Microsecond)
	}
	elapsed := time.Since(began)
	lists, claims := store.calls()
	stop()

	if got := claims - claims0; got != 0 {
		t.Errorf("the waiting lane claimed %d times during the burst, want 0 (its wait is not over)", got)
	}
	// At most one listing per relistAfter, plus the one a wake at the
	// start and the one at the end may each cause.
	if got, most := lists-lists0, int(elapsed/relistAfter)+2; got > most {
		t.Errorf("the supervisor listed the lanes %d times for %d enqueues in %v, want at most %d",
			got, burst, elapsed, most)
	}
	if got := len(sender.sent()); got != 1 {
		t.Errorf("got %d posts, want 1 (the room's limit)", got)
	}
}
