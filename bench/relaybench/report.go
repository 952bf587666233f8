package main

import (
	"fmt"
	"io"
	"time"
)

// printIngest writes the ingest table.
func printIngest(w io.Writer, rows []ingestResult) {
	fmt.Fprintln(w, "### Durable ingest (distinct Alertmanager webhooks)")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| clients | relay req/s | relay p50 | relay p99 | relay CPU/req | baseline req/s | baseline p50 | baseline p99 | baseline CPU/req | relay/baseline | relay failed |")
	fmt.Fprintln(w, "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, r := range rows {
		fmt.Fprintf(w, "| %d | %.0f | %s | %s | %s | %.0f | %s | %s | %s | %.2f | %d |\n",
			r.Relay.Clients, r.Relay.PerSecond(), ms(r.Relay.P50), ms(r.Relay.P99), us(r.Relay.CPUPerRequest()),
			r.Baseline.PerSecond(), ms(r.Baseline.P50), ms(r.Baseline.P99), us(r.Baseline.CPUPerRequest()),
			r.Ratio(), r.Relay.Failed)
	}
	fmt.Fprintln(w)
	for _, r := range rows {
		if r.Relay.FirstErr != "" {
			fmt.Fprintf(w, "relay at %d clients, first failure: %s\n\n", r.Relay.Clients, r.Relay.FirstErr)
		}
	}
}

// printStorms writes the storm table.
func printStorms(w io.Writer, rows []stormResult, clients int) {
	fmt.Fprintf(w, "### Storm: distinct alerts to one Chatwork room (strict fake, 10 posts/10 s; %d concurrent senders)\n\n", clients)
	fmt.Fprintln(w, "| alerts | webhooks in | all in the room after | posts | most posts in 10 s | 429s | delivered |")
	fmt.Fprintln(w, "|---:|---:|---:|---:|---:|---:|---:|")
	for _, r := range rows {
		done := secs(r.Elapsed)
		if !r.Complete {
			done = "not within " + done
		}
		fmt.Fprintf(w, "| %d | %s | %s | %d | %d | %d | %d |\n",
			r.Alerts, secs(r.Ingest), done, r.Posts, r.MaxIn10s, r.Got429, r.Delivered)
	}
	fmt.Fprintln(w)
}

// printSteady writes the steady table.
func printSteady(w io.Writer, r steadyResult) {
	fmt.Fprintln(w, "### Steady: single alerts to one Chatwork room, from the 202 to the room")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| alerts | one every | latency p50 | latency max | posts | 429s |")
	fmt.Fprintln(w, "|---:|---:|---:|---:|---:|---:|")
	fmt.Fprintf(w, "| %d | %s | %s | %s | %d | %d |\n\n", r.Alerts, secs(r.Every), ms(r.P50), ms(r.Max), r.Posts, r.Got429)
}

// printFailover writes the failover table.
func printFailover(w io.Writer, rows []failoverResult) {
	fmt.Fprintln(w, "### Failover: two replicas on PostgreSQL, the one posting killed (SIGKILL)")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| alerts | upstream per request | post in flight at the kill | all in the room after the kill | posts | requests dropped by the kill | alerts posted twice | 429s | most posts in 10 s | delivered |")
	fmt.Fprintln(w, "|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|")
	for _, r := range rows {
		done := secs(r.Elapsed)
		if !r.Complete {
			done = "not within " + done
		}
		fmt.Fprintf(w, "| %d | %s | %v | %s | %d | %d | %d | %d | %d | %d |\n",
			r.Alerts, secs(r.Latency), r.InFlight, done, r.Posts, r.Dropped, r.Repeated, r.Got429, r.MaxIn10s, r.Delivered)
	}
	fmt.Fprintln(w)
}

// printMemory writes the memory table.
func printMemory(w io.Writer, r memoryResult) {
	fmt.Fprintln(w, "### Memory (relay process, /proc/<pid>/status)")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| state | VmRSS | VmHWM (peak) |")
	fmt.Fprintln(w, "|---|---:|---:|")
	fmt.Fprintf(w, "| idle | %s | %s |\n", mib(r.Idle.RSS), mib(r.Idle.HWM))
	fmt.Fprintf(w, "| %d undelivered messages (upstream: %s) | %s | %s |\n", r.Queued, r.Upstream, mib(r.Loaded.RSS), mib(r.Loaded.HWM))
	fmt.Fprintln(w)
	fmt.Fprintf(w, "Filling the outbox took %s (%.0f webhooks/s, 16 clients, p99 %s, %d failed); "+
		"one GET /metrics with it full took %s.\n\n",
		secs(r.Enqueue.Elapsed), r.Enqueue.PerSecond(), ms(r.Enqueue.P99), r.Enqueue.Failed, ms(r.Scrape))
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond)) }

func us(d time.Duration) string { return fmt.Sprintf("%.0f µs", float64(d)/float64(time.Microsecond)) }

func secs(d time.Duration) string { return fmt.Sprintf("%.1f s", d.Seconds()) }

func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }
