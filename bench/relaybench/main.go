// Command relaybench measures the relay binary end to end, as users run
// it: durable ingest throughput and latency against a bare net/http
// baseline, alert storms through the strict fake Chatwork (real limits),
// and memory with a full outbox. It prints Markdown tables for
// docs/benchmarks.md. It only reports; nothing here is a pass/fail test
// of speed.
//
//	go build -o /tmp/relay ./cmd/relay
//	go build -o /tmp/baseline ./bench/baseline
//	go run ./bench/relaybench -relay /tmp/relay -baseline /tmp/baseline
//
// bench/run.sh (make bench) does exactly this.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// options are the harness's flags.
type options struct {
	relayBin, baselineBin, dir string
	store                      string // RELAY_STORE of the ingest runs; "" = a fresh SQLite file each
	clients                    []int
	duration, warmup           time.Duration
	storms                     []int
	stormClients               int
	stormTimeout               time.Duration
	queued, queuedRooms        int
	steadyAlerts               int
	steadyEvery                time.Duration
	postgres                   string // for the failover runs
	failovers, failoverAlerts  int
	failoverLatency            time.Duration
	only                       []string
}

func main() {
	var o options
	var clients, storms, only string
	flag.StringVar(&o.relayBin, "relay", "", "relay binary (built from ./cmd/relay)")
	flag.StringVar(&o.baselineBin, "baseline", "", "baseline binary (built from ./bench/baseline)")
	flag.StringVar(&o.dir, "dir", "", "directory for the SQLite outboxes (default: a new one under $TMPDIR)")
	flag.StringVar(&o.store, "store", "", "RELAY_STORE for the ingest runs, e.g. postgres://... (default: a fresh SQLite outbox per run; a PostgreSQL queue carries over between runs)")
	flag.StringVar(&clients, "clients", "1,8,64", "ingest concurrency levels")
	flag.DurationVar(&o.duration, "duration", 8*time.Second, "measured time per ingest run")
	flag.DurationVar(&o.warmup, "warmup", time.Second, "unmeasured warm-up per ingest run")
	flag.StringVar(&storms, "storms", "100,1000,5000,10000", "storm sizes (alerts to one room)")
	flag.IntVar(&o.stormClients, "storm-clients", 32, "concurrent webhook senders in a storm")
	flag.DurationVar(&o.stormTimeout, "storm-timeout", 5*time.Minute, "give up on a storm after this")
	flag.IntVar(&o.queued, "queued", 100000, "undelivered messages for the memory run")
	flag.IntVar(&o.queuedRooms, "queued-rooms", 10, "rooms the memory run spreads them over")
	flag.BoolVar(&stormSchedule, "schedule", false, "log every post of a storm on stderr (time, form, size)")
	flag.IntVar(&o.steadyAlerts, "steady-alerts", 8, "single alerts in the steady run")
	flag.DurationVar(&o.steadyEvery, "steady-every", 2*time.Second, "time between the steady run's alerts")
	flag.StringVar(&o.postgres, "postgres", "", "PostgreSQL URL for the failover runs (each in a schema of its own, dropped after); without it failover is skipped")
	flag.IntVar(&o.failovers, "failovers", 3, "failover runs")
	flag.IntVar(&o.failoverAlerts, "failover-alerts", 50, "alerts posted before the kill in a failover run")
	flag.DurationVar(&o.failoverLatency, "failover-latency", 4*time.Second, "how long the fake Chatwork takes per request in a failover run")
	flag.StringVar(&only, "only", "ingest,storm,steady,memory,failover", "which parts to run")
	flag.Parse()
	var err error
	if o.clients, err = ints(clients); err == nil {
		o.storms, err = ints(storms)
	}
	o.only = strings.Split(only, ",")
	if err == nil && (o.relayBin == "" || o.baselineBin == "") {
		err = fmt.Errorf("-relay and -baseline are required")
	}
	if err == nil {
		err = run(o)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "relaybench:", err)
		os.Exit(1)
	}
}

// run runs the selected parts and prints their tables.
func run(o options) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if o.dir == "" {
		d, err := os.MkdirTemp("", "relaybench-")
		if err != nil {
			return fmt.Errorf("make a work directory: %w", err)
		}
		defer os.RemoveAll(d)
		o.dir = d
	}
	if slices.Contains(o.only, "ingest") {
		var rows []ingestResult
		for _, c := range o.clients {
			progress("ingest: %d clients, %v each for relay and baseline", c, o.duration)
			r, err := runIngest(ctx, o.relayBin, o.baselineBin, ingestStore(o, c), c, o.duration, o.warmup)
			if err != nil {
				return err
			}
			rows = append(rows, r)
		}
		printIngest(os.Stdout, rows)
	}
	if slices.Contains(o.only, "storm") {
		var rows []stormResult
		for _, n := range o.storms {
			progress("storm: %d alerts to one room", n)
			dir, err := os.MkdirTemp(o.dir, "storm-")
			if err != nil {
				return fmt.Errorf("make a storm directory: %w", err)
			}
			r, err := runStorm(ctx, o.relayBin, dir, n, o.stormClients, o.stormTimeout)
			if err != nil {
				return err
			}
			rows = append(rows, r)
		}
		printStorms(os.Stdout, rows, o.stormClients)
	}
	if slices.Contains(o.only, "steady") {
		progress("steady: %d single alerts, one every %v", o.steadyAlerts, o.steadyEvery)
		dir, err := os.MkdirTemp(o.dir, "steady-")
		if err != nil {
			return fmt.Errorf("make a steady directory: %w", err)
		}
		r, err := runSteady(ctx, o.relayBin, dir, o.steadyAlerts, o.steadyEvery)
		if err != nil {
			return err
		}
		printSteady(os.Stdout, r)
	}
	if slices.Contains(o.only, "failover") {
		if o.postgres == "" {
			progress("failover: skipped, needs -postgres")
		} else {
			var rows []failoverResult
			for i := range o.failovers {
				progress("failover %d of %d: %d alerts, upstream %v per post", i+1, o.failovers, o.failoverAlerts, o.failoverLatency)
				r, err := runFailover(ctx, o.relayBin, o.postgres, o.failoverAlerts, o.failoverLatency, 2*time.Minute)
				if err != nil {
					return err
				}
				rows = append(rows, r)
			}
			printFailover(os.Stdout, rows)
		}
	}
	if slices.Contains(o.only, "memory") {
		progress("memory: idle, then %d undelivered messages", o.queued)
		r, err := runMemory(ctx, o.relayBin, o.dir, o.queued, o.queuedRooms, 16)
		if err != nil {
			return err
		}
		printMemory(os.Stdout, r)
	}
	return nil
}

// progress reports on stderr what is running, so that stdout is only the
// tables.
func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s relaybench: %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}

// ints parses a comma-separated list of positive integers.
func ints(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("parse %q: want positive integers separated by commas", s)
		}
		out = append(out, n)
	}
	return out, nil
}
