package postgres

import (
	"context"
	"testing"

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
