package sqlite

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/relayhq/relay/internal/limiter"
)

// TestRestartRemembersLimiter checks that slots taken and pauses set before
// a restart still hold after it: a restarted relay must not post a second
// burst into a room whose window is still full upstream.
func TestRestartRemembersLimiter(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "outbox.db")
	now := time.Unix(1_700_000_000, 0)
	clock := func() time.Time { return now }

	s1, err := Open(ctx, path, Options{Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 10; i++ {
		if _, err := s1.Enqueue(ctx, batch("7", "m")); err != nil {
			t.Fatal(err)
		}
	}
	req := claimReq("7")
	req.Lease = time.Millisecond
	for i := 0; i < 10; i++ {
		c, err := s1.Claim(ctx, req)
		if err != nil || len(c.Messages) == 0 {
			t.Fatalf("claim %d: %v %+v", i, err, c)
		}
		if len(c.Messages) != 1 {
			t.Fatalf("claim %d folded %d messages; want 1 while slots suffice", i, len(c.Messages))
		}
		if err := s1.Ack(ctx, []int64{c.Messages[0].ID}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s1.Enqueue(ctx, batch("7", "after the burst")); err != nil {
		t.Fatal(err)
	}
	if err := s1.Pause(ctx, "token/x", now.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := s1.Close(); err != nil {
		t.Fatal(err)
	}

	now = now.Add(2 * time.Second)
	lim := limiter.NewLog()
	s2 := open(t, path, Options{Now: clock, Limiter: lim})
	c, err := s2.Claim(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Messages) != 0 || c.Wait != 8*time.Second {
		t.Errorf("after restart: got %d messages, wait %v; want none and 8s (the window is still full)", len(c.Messages), c.Wait)
	}
	if free := lim.Free(now, 0, []limiter.Rule{{Key: "token/x", Limit: 300, Window: 5 * time.Minute}}); free != 0 {
		t.Errorf("paused key has %d free slots after restart, want 0", free)
	}
	now = now.Add(8 * time.Second)
	if c, err := s2.Claim(ctx, req); err != nil || len(c.Messages) == 0 {
		t.Errorf("after the window: got %+v, %v; want a claim", c, err)
	}
}
