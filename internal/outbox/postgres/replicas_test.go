package postgres

import (
	"context"
	"fmt"
	neturl "net/url"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/relayhq/relay/internal/limiter"
	"github.com/relayhq/relay/internal/outbox"
	"github.com/relayhq/relay/internal/testenv"
)

// replicas opens n stores on one fresh schema, as n relay processes would.
func replicas(t *testing.T, n int, opts Options) []*Store {
	t.Helper()
	url := testenv.Lookup(t, testenv.PostgresURL)
	opts.Schema = newSchema(t, url)
	stores := make([]*Store, n)
	for i := range stores {
		stores[i] = open(t, url, opts)
	}
	return stores
}

// fakeClock is a clock the replicas of a test share, safe for concurrent use.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// claimRecord is one successful claim as the database timed it.
type claimRecord struct {
	lane string
	ids  []int64
	at   int64 // Unix ms: the database clock at the claim
}

// TestReplicasShareLanesAndLimits has two replicas with four workers each
// claim two lanes under one shared token rule on the database clock. Every
// message is claimed once, in lane order, and no window of any rule holds
// more than its limit of claims.
func TestReplicasShareLanesAndLimits(t *testing.T) {
	t.Parallel()
	stores := replicas(t, 2, Options{})
	const (
		perLane = 40
		window  = 500 * time.Millisecond
	)
	token := limiter.Rule{Key: "chatwork/token/t", Limit: 12, Window: window}
	lanes := []string{"1", "2"}
	want := map[string][]int64{}
	for _, room := range lanes {
		for i := range perLane {
			res, err := stores[i%2].Enqueue(t.Context(), batch(room, fmt.Sprintf("m%03d", i)))
			if err != nil {
				t.Fatalf("Enqueue: %v", err)
			}
			want[room] = append(want[room], res.IDs...)
		}
	}
	reqs := map[string]outbox.ClaimRequest{}
	for _, room := range lanes {
		req := claimReq(room, 10, time.Minute)
		req.Rules[0].Window = window
		req.Rules = append(req.Rules, token)
		req.MaxChars = 4 // one body: every claim takes the head alone
		reqs[room] = req
	}

	var (
		mu   sync.Mutex
		log  []claimRecord
		left = 2 * perLane
		wg   sync.WaitGroup
	)
	for w := range 8 {
		s := stores[w%2]
		room := lanes[w/2%2]
		wg.Go(func() {
			for {
				mu.Lock()
				done := left == 0
				mu.Unlock()
				if done || t.Context().Err() != nil {
					return
				}
				c, err := s.Claim(t.Context(), reqs[room])
				if err != nil {
					t.Errorf("Claim: %v", err)
					return
				}
				if len(c.Messages) == 0 {
					time.Sleep(min(c.Wait, 20*time.Millisecond) + time.Millisecond)
					continue
				}
				// The lease end tells when the database granted the claim.
				var until int64
				if err := s.pool.QueryRow(t.Context(), `SELECT claimed_until FROM messages WHERE id = $1`,
					c.Messages[0].ID).Scan(&until); err != nil {
					t.Errorf("read lease: %v", err)
					return
				}
				mu.Lock()
				log = append(log, claimRecord{lane: room, ids: ids(c.Messages), at: until - time.Minute.Milliseconds()})
				left -= len(c.Messages)
				mu.Unlock()
				if err := s.Ack(t.Context(), ids(c.Messages)); err != nil {
					t.Errorf("Ack: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()

	got := map[string][]int64{}
	for _, r := range log {
		got[r.lane] = append(got[r.lane], r.ids...)
	}
	for _, room := range lanes {
		if !slices.Equal(got[room], want[room]) {
			t.Errorf("lane %s claimed ids %v, want %v (each once, in order)", room, got[room], want[room])
		}
	}
	check := func(name string, limit int, in func(claimRecord) bool) {
		var times []int64
		for _, r := range log {
			if in(r) {
				times = append(times, r.at)
			}
		}
		if n := maxInWindow(times, window.Milliseconds()); n > limit {
			t.Errorf("%s: %d claims in one window of %s, limit %d", name, n, window, limit)
		}
	}
	for _, room := range lanes {
		check("room "+room, 10, func(r claimRecord) bool { return r.lane == room })
	}
	check("token", token.Limit, func(claimRecord) bool { return true })
}

// maxInWindow returns the most times in any (t - window, t].
func maxInWindow(times []int64, window int64) int {
	slices.Sort(times)
	most := 0
	for i, end := range times {
		n := 0
		for _, at := range times[:i+1] {
			if at > end-window {
				n++
			}
		}
		most = max(most, n)
	}
	return most
}

// TestLeaseExpiryHandsOverToAnotherReplica: a replica claims and dies
// mid-send; the other replica gets the same message once the lease ends,
// and not before.
func TestLeaseExpiryHandsOverToAnotherReplica(t *testing.T) {
	t.Parallel()
	clock := &fakeClock{t: time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)}
	stores := replicas(t, 2, Options{Now: clock.Now})
	dead, alive := stores[0], stores[1]
	if _, err := dead.Enqueue(t.Context(), batch("1", "a", "b")); err != nil {
		t.Fatalf("Enqueue: %v", err)
	}
	req := claimReq("1", 10, 30*time.Second)
	first, err := dead.Claim(t.Context(), req)
	if err != nil || len(first.Messages) != 1 {
		t.Fatalf("Claim = %+v, %v; want the head", first, err)
	}
	if err := dead.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	steps := []struct {
		advance time.Duration
		want    []int64
	}{
		{0, nil},
		{30*time.Second - time.Millisecond, nil},
		{time.Millisecond, ids(first.Messages)},
	}
	for _, st := range steps {
		clock.Advance(st.advance)
		c, err := alive.Claim(t.Context(), req)
		if err != nil {
			t.Fatalf("Claim: %v", err)
		}
		if got := ids(c.Messages); !slices.Equal(got, st.want) || c.Wait != 0 {
			t.Errorf("%s into the lease: claimed %v, wait %s; want %v, 0", clock.Now().Sub(time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)), got, c.Wait, st.want)
		}
	}
}

// TestPauseIsShared: a 429 seen by one replica holds the key on all.
func TestPauseIsShared(t *testing.T) {
	t.Parallel()
	clock := &fakeClock{t: time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)}
	stores := replicas(t, 2, Options{Now: clock.Now})
	if _, err := stores[0].Enqueue(t.Context(), batch("1", "a")); err != nil {
		t.Fatalf("Enqueue: %v", err)
	}
	req := claimReq("1", 10, time.Minute)
	if err := stores[0].Pause(t.Context(), req.Rules[0].Key, clock.Now().Add(8*time.Second)); err != nil {
		t.Fatalf("Pause: %v", err)
	}
	// An earlier pause from the other replica does not shorten it.
	if err := stores[1].Pause(t.Context(), req.Rules[0].Key, clock.Now().Add(time.Second)); err != nil {
		t.Fatalf("Pause: %v", err)
	}
	if c, err := stores[1].Claim(t.Context(), req); err != nil || len(c.Messages) != 0 || c.Wait != 8*time.Second {
		t.Errorf("Claim on the other replica = %+v, %v; want none, wait 8s", c, err)
	}
}

// TestDedupAcrossReplicas sends one webhook to both replicas many times at
// once: it is stored once and every answer names the stored batch.
func TestDedupAcrossReplicas(t *testing.T) {
	t.Parallel()
	stores := replicas(t, 2, Options{})
	const n = 16
	results := make([]outbox.EnqueueResult, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			b := batch("1", "firing")
			b.NotificationID = fmt.Sprint("n", i)
			b.DedupKey = "am-group-1"
			var err error
			if results[i], err = stores[i%2].Enqueue(t.Context(), b); err != nil {
				t.Errorf("Enqueue %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	var stored []string
	for _, r := range results {
		if !r.Duplicate {
			stored = append(stored, r.NotificationID)
		}
	}
	if len(stored) != 1 {
		t.Fatalf("%d batches stored, want 1: %+v", len(stored), results)
	}
	for i, r := range results {
		if r.NotificationID != stored[0] {
			t.Errorf("result %d names %q, want %q", i, r.NotificationID, stored[0])
		}
	}
	lanes, err := stores[1].Lanes(t.Context())
	if err != nil {
		t.Fatalf("Lanes: %v", err)
	}
	stats, err := stores[1].Stats(t.Context())
	if err != nil || len(stats) != 1 || stats[0].Depth != 1 || len(lanes) != 1 {
		t.Errorf("Stats = %+v, %v; want one queued message", stats, err)
	}
}

// TestWakeReachesOtherReplicas: an enqueue on one replica wakes the
// workers of the other through NOTIFY.
func TestWakeReachesOtherReplicas(t *testing.T) {
	t.Parallel()
	stores := replicas(t, 2, Options{})
	// The listener signals once when it starts listening; wait for that,
	// so the signal below can only come from the NOTIFY.
	select {
	case <-stores[1].Wake():
	case <-time.After(10 * time.Second):
		t.Fatal("listener never started")
	}
	if _, err := stores[0].Enqueue(t.Context(), batch("1", "a")); err != nil {
		t.Fatalf("Enqueue: %v", err)
	}
	select {
	case <-stores[1].Wake():
	case <-time.After(10 * time.Second):
		t.Error("the other replica was not woken by Enqueue")
	}
}

// TestConcurrentOpenMigratesOnce starts several replicas on an empty
// schema at once: all open, and the schema is migrated once.
func TestConcurrentOpenMigratesOnce(t *testing.T) {
	t.Parallel()
	url := testenv.Lookup(t, testenv.PostgresURL)
	schema := newSchema(t, url)
	stores := make([]*Store, 4)
	errs := make([]error, len(stores))
	var wg sync.WaitGroup
	for i := range stores {
		wg.Go(func() {
			stores[i], errs[i] = Open(context.Background(), url, Options{Schema: schema})
		})
	}
	wg.Wait()
	for i, s := range stores {
		if errs[i] != nil {
			t.Errorf("Open %d: %v", i, errs[i])
			continue
		}
		t.Cleanup(func() { _ = s.Close() })
	}
	if t.Failed() {
		return
	}
	var rows, version int
	if err := stores[0].pool.QueryRow(t.Context(), `SELECT COUNT(*), MAX(version) FROM schema_migrations`).Scan(&rows, &version); err != nil {
		t.Fatalf("read schema_migrations: %v", err)
	}
	if rows != 1 || version != schemaVersion {
		t.Errorf("schema_migrations has %d rows up to version %d, want 1 row of version %d", rows, version, schemaVersion)
	}
	// Every replica sees one queue.
	if _, err := stores[2].Enqueue(t.Context(), batch("1", "a")); err != nil {
		t.Fatalf("Enqueue: %v", err)
	}
	if lanes, err := stores[3].Lanes(t.Context()); err != nil || len(lanes) != 1 {
		t.Errorf("Lanes on another replica = %v, %v; want one lane", lanes, err)
	}
}

// TestSchemaFromSearchPath: without Options.Schema the store uses the
// first schema of the URL's search_path, creating it.
func TestSchemaFromSearchPath(t *testing.T) {
	t.Parallel()
	url := testenv.Lookup(t, testenv.PostgresURL)
	schema := newSchema(t, url)
	u, err := neturl.Parse(url)
	if err != nil {
		t.Fatalf("parse %s: %v", testenv.PostgresURL, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	s := open(t, u.String(), Options{})
	if s.Schema() != schema {
		t.Errorf("Schema() = %q, want %q", s.Schema(), schema)
	}
	if err := s.Ping(t.Context()); err != nil {
		t.Errorf("Ping: %v", err)
	}
}
