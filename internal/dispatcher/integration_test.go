package dispatcher_test

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/relayhq/relay/internal/delivery"
	"github.com/relayhq/relay/internal/dispatcher"
	"github.com/relayhq/relay/internal/outbox"
	"github.com/relayhq/relay/internal/outbox/sqlite"
	"github.com/relayhq/relay/internal/secret"
	"github.com/relayhq/relay/internal/senders/chatwork"
	"github.com/relayhq/relay/internal/senders/chatwork/chatworktest"
)

const (
	token    = "integration-token"
	tokenKey = "chatwork/token/integration"
	sep      = "\n[hr]\n"
)

// chatworkPolicy is Chatwork's real pacing; tests narrow MaxChars or the
// token limit.
func chatworkPolicy() dispatcher.Policy {
	return dispatcher.Policy{
		Scope: "chatwork", RateLimitPause: 10 * time.Second,
		Destination: dispatcher.Limit{Count: 10, Per: 10 * time.Second},
		Token:       dispatcher.Limit{Count: 300, Per: 5 * time.Minute},
		TokenKey:    tokenKey,
		Margin:      250 * time.Millisecond,
		MaxChars:    chatwork.MaxBodyLen,
		Separator:   sep,
	}
}

// oneSender resolves the name "chatwork" only.
type oneSender struct {
	s dispatcher.Sender
	p dispatcher.Policy
}

func (o oneSender) Lookup(name string) (dispatcher.Sender, dispatcher.Policy, bool) {
	return o.s, o.p, name == "chatwork"
}

// rig is a real SQLite outbox, the strict fake Chatwork and a Chatwork
// sender pointed at it; with a clock, the outbox, the fake and the
// dispatcher all run on it.
type rig struct {
	store  *sqlite.Store
	fake   *chatworktest.Server
	sender *chatwork.Sender
	clock  *dispatcher.FakeClock // nil: the real clock
}

func newRig(tb testing.TB, fakeOpts chatworktest.Options, clock *dispatcher.FakeClock) *rig {
	tb.Helper()
	var storeOpts sqlite.Options
	if clock != nil {
		storeOpts.Now, fakeOpts.Clock = clock.Now, clock.Now
	}
	store, err := sqlite.Open(context.Background(), filepath.Join(tb.TempDir(), "relay.db"), storeOpts)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = store.Close() })
	fakeOpts.Tokens = []string{token}
	fake := chatworktest.NewServer(tb, fakeOpts)
	sender, err := chatwork.New(chatwork.Config{Name: "chatwork", APIURL: fake.URL(), Token: secret.New(token)}, &http.Client{}, zap.NewNop())
	if err != nil {
		tb.Fatal(err)
	}
	return &rig{store: store, fake: fake, sender: sender, clock: clock}
}

// newFakeClock returns a fake clock an hour ahead of the real one: the
// Chatwork sender reads the real clock to tell whether a quota reset is
// still to come, and so finds every reset of the fake ahead of it.
func newFakeClock() *dispatcher.FakeClock {
	return dispatcher.NewFakeClock(time.Now().Add(time.Hour).Truncate(time.Second))
}

// run runs a dispatcher until the returned stop is called (or the test
// ends).
func (r *rig) run(tb testing.TB, p dispatcher.Policy, opts dispatcher.Options) (reg *prometheus.Registry, stop func()) {
	tb.Helper()
	if r.clock != nil {
		opts.Clock = r.clock
	}
	reg = prometheus.NewRegistry()
	d, err := dispatcher.New(r.store, oneSender{r.sender, p}, opts, zap.NewNop(), reg)
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := dispatcher.AwaitRun(tb, opts.Clock, done); err != nil {
				tb.Errorf("Run returned %v, want nil", err)
			}
		})
	}
	tb.Cleanup(stop)
	return reg, stop
}

// storm enqueues n distinct alerts to room as webhooks of 10 messages,
// several at once, and returns the bodies in enqueue order per webhook.
func storm(tb testing.TB, store outbox.Store, room string, n int) map[string]bool {
	tb.Helper()
	want := make(map[string]bool, n)
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	for w := 0; w*10 < n; w++ {
		b := outbox.Batch{NotificationID: fmt.Sprintf("hook-%s-%d", room, w)}
		for i := w * 10; i < min(n, (w+1)*10); i++ {
			body := fmt.Sprintf("[info][title]FIRING alert %04d[/title]host=db-%04d severity=critical summary=disk almost full on /var/lib%s[/info]",
				i, i, strings.Repeat(".", 20))
			want[body] = true
			b.Messages = append(b.Messages, delivery.Message{Dest: delivery.Destination{Sender: "chatwork", Address: "room/" + room}, Body: body})
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := store.Enqueue(context.Background(), b); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(errs) > 0 {
		tb.Fatalf("enqueue: %v", errs[0])
	}
	return want
}

// depth returns how many messages the outbox holds for delivery.
func depth(tb testing.TB, store outbox.Store) int {
	tb.Helper()
	stats, err := store.Stats(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	n := 0
	for _, s := range stats {
		n += s.Depth
	}
	return n
}

// waitDrained waits on the real clock until the outbox holds nothing for
// delivery.
func waitDrained(tb testing.TB, store outbox.Store, timeout time.Duration) {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for {
		n := depth(tb, store)
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("timed out with %d messages queued", n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// driveDrained advances r's fake clock until the outbox is drained,
// whenever the supervisor and the lanes of every room still short of
// its want posts sleep.
func (r *rig) driveDrained(t *testing.T, want map[string]int) {
	t.Helper()
	sleepers := func() int {
		n := 1 // the supervisor's poll
		for room, posts := range want {
			if len(r.fake.Posts(room)) < posts {
				n++
			}
		}
		return n
	}
	dispatcher.Drive(t, r.clock, "the outbox to drain", sleepers, func() bool { return depth(t, r.store) == 0 })
}

// unfold splits posts into the messages folded into them.
func unfold(posts []chatworktest.Post) []string {
	var msgs []string
	for _, p := range posts {
		msgs = append(msgs, strings.Split(p.Body, sep)...)
	}
	return msgs
}

func TestStormToOneRoomNeverHitsTheLimit(t *testing.T) {
	t.Parallel()
	r := newRig(t, chatworktest.Options{}, newFakeClock()) // real limits: 10 per 10 s, 300 per 5 min
	want := storm(t, r.store, "100", 300)
	p := chatworkPolicy()
	p.MaxChars = 2800 // 20 messages of 132 characters a post: 15 posts, two windows
	_, stop := r.run(t, p, dispatcher.Options{})
	r.driveDrained(t, map[string]int{"100": 15})
	stop()

	posts := r.fake.Posts("100")
	got := unfold(posts)
	if len(got) != len(want) {
		t.Errorf("got %d messages delivered, want %d", len(got), len(want))
	}
	last := map[int]int{} // per webhook, the last alert number delivered
	for i, m := range got {
		if !want[m] {
			t.Fatalf("message %d %q was not enqueued or was delivered twice", i, m)
		}
		delete(want, m)
		var n int
		if _, err := fmt.Sscanf(m, "[info][title]FIRING alert %d", &n); err != nil {
			t.Fatal(err)
		}
		if prev, ok := last[n/10]; ok && prev > n {
			t.Errorf("alert %d delivered after alert %d of the same webhook", n, prev)
		}
		last[n/10] = n
	}
	if n := r.fake.Count(http.StatusTooManyRequests); n != 0 {
		t.Errorf("got %d answers 429, want none", n)
	}
	if n := r.fake.MaxInWindow("100", 10*time.Second); n > 10 {
		t.Errorf("got %d posts in one 10 s window, want at most 10", n)
	}
	// No under-sending: while a backlog remains, the 10th post after any
	// post follows it as soon as that one leaves the window plus margin.
	for i := 0; i+10 < len(posts); i++ {
		if gap := posts[i+10].At.Sub(posts[i].At); gap > p.Destination.Per+p.Margin {
			t.Errorf("posts %d and %d are %v apart, want at most %v", i, i+10, gap, p.Destination.Per+p.Margin)
		}
	}
	if len(posts) >= len(got) {
		t.Errorf("got %d posts for %d messages, want them folded", len(posts), len(got))
	}
}

func TestRoomsShareTheTokenLimit(t *testing.T) {
	t.Parallel()
	r := newRig(t, chatworktest.Options{TokenLimit: 6, TokenWindow: 2 * time.Second}, newFakeClock())
	rooms := []string{"1", "2", "3"}
	for _, room := range rooms {
		storm(t, r.store, room, 6)
	}
	p := chatworkPolicy()
	p.Token = dispatcher.Limit{Count: 6, Per: 2 * time.Second}
	p.MaxChars = 200 // one message a post: 18 posts, three token windows
	reg, stop := r.run(t, p, dispatcher.Options{})
	r.driveDrained(t, map[string]int{"1": 6, "2": 6, "3": 6})
	stop()

	if n := r.fake.Count(http.StatusTooManyRequests); n != 0 {
		t.Errorf("got %d answers 429, want none", n)
	}
	for _, room := range rooms {
		msgs := unfold(r.fake.Posts(room))
		if len(msgs) != 6 {
			t.Errorf("room %s: got %d messages, want 6", room, len(msgs))
		}
		for i := 1; i < len(msgs); i++ {
			if msgs[i] < msgs[i-1] { // bodies carry their enqueue number
				t.Errorf("room %s: %q delivered after %q", room, msgs[i], msgs[i-1])
			}
		}
	}
	if got := total(t, reg, "relay_limiter_wait_seconds"); got == 0 {
		t.Error("no limiter waits observed: the token limit did not bite")
	}
}

func TestTokenQuotaResetIsHonouredForEveryRoom(t *testing.T) {
	t.Parallel()
	// Another program spent the token's quota, so the relay's first post
	// is answered 429 with x-ratelimit-reset: the whole token must wait
	// for the reset.
	r := newRig(t, chatworktest.Options{TokenLimit: 3, TokenWindow: 3 * time.Second}, newFakeClock())
	for range 3 {
		if _, err := r.sender.Send(context.Background(), delivery.Destination{Address: "room/999"}, "another program"); err != nil {
			t.Fatal(err)
		}
	}
	for _, room := range []string{"1", "2"} {
		storm(t, r.store, room, 3)
	}
	p := chatworkPolicy()
	p.MaxChars = 200
	// One post in flight at a time, so the 429 is seen before the next.
	reg, stop := r.run(t, p, dispatcher.Options{Concurrency: 1, MaxAttempts: 1})
	r.driveDrained(t, map[string]int{"1": 3, "2": 3})
	stop()

	if n := r.fake.Count(http.StatusTooManyRequests); n != 1 {
		t.Errorf("got %d answers 429, want exactly 1: the pause must hold both rooms until the reset", n)
	}
	if n := len(r.fake.Posts("1")) + len(r.fake.Posts("2")); n != 6 {
		t.Errorf("got %d posts, want 6 (a rate-limited post is retried without using up attempts)", n)
	}
	if got := total(t, reg, "relay_upstream_rate_limited_total"); got != 1 {
		t.Errorf("relay_upstream_rate_limited_total = %v, want 1", got)
	}
}

// total sums the series of the metric name in reg: counter values or
// histogram sample counts.
func total(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	sum := 0.0
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			sum += m.GetCounter().GetValue() + float64(m.GetHistogram().GetSampleCount())
		}
	}
	return sum
}
