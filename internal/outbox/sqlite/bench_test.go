package sqlite

import (
	"path/filepath"
	"testing"
)

// BenchmarkEnqueue is durable ingest one webhook at a time: every batch
// is its own synced commit.
func BenchmarkEnqueue(b *testing.B) {
	s := open(b, filepath.Join(b.TempDir(), "outbox.db"), Options{})
	bt := batch("1", "[info][title]FIRING: HighLatency[/title]api p99 over 2s[/info]")
	for b.Loop() {
		if _, err := s.Enqueue(b.Context(), bt); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEnqueueParallel is durable ingest from many webhooks at once:
// waiting batches share a synced commit (batches/commit shows how many).
func BenchmarkEnqueueParallel(b *testing.B) {
	s := open(b, filepath.Join(b.TempDir(), "outbox.db"), Options{})
	bt := batch("1", "[info][title]FIRING: HighLatency[/title]api p99 over 2s[/info]")
	b.SetParallelism(16)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.Enqueue(b.Context(), bt); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	if n := s.commits.Load(); n > 0 {
		b.ReportMetric(float64(b.N)/float64(n), "batches/commit")
	}
}
