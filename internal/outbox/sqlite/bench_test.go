package sqlite

import (
	"crypto/sha256"
	"encoding/hex"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/relayhq/relay/internal/outbox"
)

// BenchmarkEnqueue is durable ingest one webhook at a time: every batch
// is its own synced commit.
func BenchmarkEnqueue(b *testing.B) {
	s := open(b, filepath.Join(b.TempDir(), "outbox.db"), Options{})
	bt := batch("1", "[info][title]FIRING: HighLatency[/title]api p99 over 2s[/info]")
	cpu := startCPU()
	for b.Loop() {
		if _, err := s.Enqueue(b.Context(), bt); err != nil {
			b.Fatal(err)
		}
	}
	cpu.report(b)
}

// BenchmarkEnqueueParallel is durable ingest from many webhooks at once:
// waiting batches share a synced commit (batches/commit shows how many).
func BenchmarkEnqueueParallel(b *testing.B) {
	s := open(b, filepath.Join(b.TempDir(), "outbox.db"), Options{})
	bt := batch("1", "[info][title]FIRING: HighLatency[/title]api p99 over 2s[/info]")
	runParallel(b, s, func(int64) outbox.Batch { return bt })
}

// BenchmarkEnqueueParallelDedup is BenchmarkEnqueueParallel with what a
// webhook brings: one message and a distinct dedup key per batch.
func BenchmarkEnqueueParallelDedup(b *testing.B) {
	s := open(b, filepath.Join(b.TempDir(), "outbox.db"), Options{DedupTTL: time.Hour})
	runParallel(b, s, func(n int64) outbox.Batch {
		bt := batch("1", "[info][title]FIRING: HighLatency[/title]api p99 over 2s[/info]")
		bt.DedupKey = "group-" + strconv.FormatInt(n, 10)
		return bt
	})
}

// BenchmarkEnqueueParallelWebhook is BenchmarkEnqueueParallelDedup shaped
// like relay's Alertmanager ingest: the dedup key is a hex SHA-256 (so keys
// land all over the key index, not at its end) and the body is the size of
// the default Chatwork rendering.
func BenchmarkEnqueueParallelWebhook(b *testing.B) {
	s := open(b, filepath.Join(b.TempDir(), "outbox.db"), Options{DedupTTL: time.Hour})
	body := strings.Repeat("[info][title][FIRING:1] HighErrorRate[/title]\n", 14)
	runParallel(b, s, func(n int64) outbox.Batch {
		bt := batch("100", body)
		sum := sha256.Sum256(strconv.AppendInt(nil, n, 10))
		bt.DedupKey = hex.EncodeToString(sum[:])
		return bt
	})
}

// runParallel enqueues next(1), next(2), ... from 16 goroutines per CPU and
// reports batches per group commit and the process's CPU time per batch.
func runParallel(b *testing.B, s *Store, next func(n int64) outbox.Batch) {
	var n atomic.Int64
	b.SetParallelism(16)
	commits := s.commits.Load()
	b.ResetTimer()
	cpu := startCPU()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.Enqueue(b.Context(), next(n.Add(1))); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	cpu.report(b)
	if c := s.commits.Load() - commits; c > 0 {
		b.ReportMetric(float64(b.N)/float64(c), "batches/commit")
	}
}

// cpuClock is the process's user+system CPU time at a start.
type cpuClock time.Duration

func startCPU() cpuClock { return cpuClock(processCPU()) }

// report adds the CPU time spent since the start per b.N as cpu-µs/op:
// the cost of a batch, which wall time (mostly fsync waits) hides.
func (c cpuClock) report(b *testing.B) {
	used := processCPU() - time.Duration(c)
	b.ReportMetric(float64(used.Microseconds())/float64(b.N), "cpu-µs/op")
}

func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkLanes is the dispatcher's look after every Enqueue: the lanes
// of a queue of three rooms.
func BenchmarkLanes(b *testing.B) {
	s := open(b, filepath.Join(b.TempDir(), "outbox.db"), Options{})
	for _, room := range []string{"1", "2", "3"} {
		if _, err := s.Enqueue(b.Context(), batch(room, "a", "b")); err != nil {
			b.Fatal(err)
		}
	}
	cpu := startCPU()
	for b.Loop() {
		if lanes, err := s.Lanes(b.Context()); err != nil || len(lanes) != 3 {
			b.Fatalf("Lanes = %q, %v", lanes, err)
		}
	}
	cpu.report(b)
}
