package postgres

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/relayhq/relay/internal/testenv"
)

// BenchmarkEnqueue is durable ingest one webhook at a time: every batch
// is its own commit.
func BenchmarkEnqueue(b *testing.B) {
	url := testenv.Lookup(b, testenv.PostgresURL)
	s := open(b, url, Options{Schema: newSchema(b, url)})
	bt := batch("1", "[info][title]FIRING: HighLatency[/title]api p99 over 2s[/info]")
	for b.Loop() {
		if _, err := s.Enqueue(context.Background(), bt); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEnqueueParallel is durable ingest from many webhooks at once:
// waiting batches share a commit.
func BenchmarkEnqueueParallel(b *testing.B) {
	url := testenv.Lookup(b, testenv.PostgresURL)
	s := open(b, url, Options{Schema: newSchema(b, url)})
	bt := batch("1", "[info][title]FIRING: HighLatency[/title]api p99 over 2s[/info]")
	b.SetParallelism(16)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.Enqueue(context.Background(), bt); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// backlogSizes are the queue lengths the backlog benchmarks compare: what
// the dispatcher asks after every Enqueue must cost the same at both.
var backlogSizes = []int{1000, 50000}

// BenchmarkClaimWithBacklog claims from a lane holding a long queue, with
// a short lane queued behind it, as the dispatcher does after every
// Enqueue: the lane's head leased by a post in flight (Claim returns
// nothing), the room paused by a 429 (Claim returns a Wait), and a claim
// granted (folding up to 1,000 messages, since more are queued than the
// room has slots; they are then put back for the next claim).
func BenchmarkClaimWithBacklog(b *testing.B) {
	for _, n := range backlogSizes {
		for _, kind := range []string{"leased", "paused", "granted"} {
			b.Run(fmt.Sprintf("%s/queued=%d", kind, n), func(b *testing.B) {
				// The granted claims' clock steps 2 s a claim, so the
				// room (10 per 10 s) always has a slot free.
				clk := &fakeClock{t: time.Now()}
				step := time.Duration(0)
				if kind == "granted" {
					step = 2 * time.Second
				}
				now := func() time.Time { clk.Advance(step); return clk.Now() }
				url := testenv.Lookup(b, testenv.PostgresURL)
				s := open(b, url, Options{Schema: newSchema(b, url), Now: now})
				backlog(b, s, "1", n)
				backlog(b, s, "2", 10)
				req := claimReq("1", 10, time.Minute)
				switch kind {
				case "leased":
					c, err := s.Claim(b.Context(), req)
					if err != nil || len(c.Messages) == 0 {
						b.Fatalf("lease the head: %v, %v", c, err)
					}
				case "paused":
					if err := s.Pause(b.Context(), req.Rules[0].Key, clk.Now().Add(time.Hour)); err != nil {
						b.Fatal(err)
					}
				}
				for b.Loop() {
					c, err := s.Claim(b.Context(), req)
					if err != nil {
						b.Fatal(err)
					}
					if got := len(c.Messages) > 0; got != (kind == "granted") {
						b.Fatalf("%s: claimed %d messages", kind, len(c.Messages))
					}
					if kind == "granted" {
						if err := s.Retry(b.Context(), ids(c.Messages), time.Time{}, false, "", ""); err != nil {
							b.Fatal(err)
						}
					}
				}
			})
		}
	}
}

// BenchmarkLanesWithBacklog lists the lanes of a long queue in one lane
// and ten short ones, as the dispatcher does after every Enqueue.
func BenchmarkLanesWithBacklog(b *testing.B) {
	for _, n := range backlogSizes {
		b.Run(fmt.Sprintf("queued=%d", n), func(b *testing.B) {
			url := testenv.Lookup(b, testenv.PostgresURL)
			s := open(b, url, Options{Schema: newSchema(b, url)})
			backlog(b, s, "1", n)
			for room := range 10 {
				backlog(b, s, fmt.Sprint(room+2), 10)
			}
			for b.Loop() {
				lanes, err := s.Lanes(b.Context())
				if err != nil || len(lanes) != 11 {
					b.Fatalf("Lanes = %d lanes, %v; want 11", len(lanes), err)
				}
			}
		})
	}
}
