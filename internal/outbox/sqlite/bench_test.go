package sqlite

import (
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"
	"time"
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

// BenchmarkEnqueueParallelDedup is BenchmarkEnqueueParallel with what a
// webhook brings: one message and a distinct dedup key per batch.
func BenchmarkEnqueueParallelDedup(b *testing.B) {
	s := open(b, filepath.Join(b.TempDir(), "outbox.db"), Options{DedupTTL: time.Hour})
	var n atomic.Int64
	b.SetParallelism(16)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			bt := batch("1", "[info][title]FIRING: HighLatency[/title]api p99 over 2s[/info]")
			bt.DedupKey = "group-" + strconv.FormatInt(n.Add(1), 10)
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
