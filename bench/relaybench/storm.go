package main

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/relayhq/relay/internal/senders/chatwork/chatworktest"
)

// stormResult is what one storm measured.
type stormResult struct {
	Alerts    int
	Accepted  int           // webhooks answered 202
	Ingest    time.Duration // from the first webhook until the last was answered
	Delivered int           // distinct alerts found in the room
	Elapsed   time.Duration // from the first webhook until the last alert was in the room
	Posts     int           // accepted posts to the room
	Answers   int           // requests the fake received, every status
	Got429    int
	MaxIn10s  int // most accepted posts in any 10 s window
	Complete  bool
}

// stormSchedule, set by -schedule, logs every post of a storm on stderr:
// when it went, its form and size.
var stormSchedule bool

// benchToken is the Chatwork token the harness gives the relay and the fake.
const benchToken = "bench-token-0123456789abcdef"

// runStorm starts the strict fake Chatwork (real limits) and a fresh relay
// pointed at it, posts n distinct alerts to one room from clients
// goroutines, and waits until every alert is in the room.
func runStorm(ctx context.Context, relayBin, dir string, n, clients int, timeout time.Duration) (stormResult, error) {
	tb := &harnessTB{}
	defer tb.close()
	fake, relay, err := startWithFake(tb, relayBin, dir)
	if err != nil {
		return stormResult{}, err
	}
	defer relay.stop()

	const room = "4242"
	run := fmt.Sprintf("S%d", n)
	begin := time.Now()
	load := runLoad(ctx, loadSpec{URL: relay.URL + "/v1/alertmanager/chatwork/" + room, Run: run, Clients: clients, Count: n})
	res := stormResult{Alerts: n, Accepted: load.Requests, Ingest: time.Since(begin)}
	if load.Failed > 0 {
		return res, fmt.Errorf("storm of %d: %d webhooks failed, first: %s", n, load.Failed, load.FirstErr)
	}

	names := regexp.MustCompile(`Bench` + run + `[0-9]{7}`)
	seen := map[string]bool{}
	scanned := 0
	deadline := time.Now().Add(timeout)
	for len(seen) < n && time.Now().Before(deadline) && ctx.Err() == nil {
		fake.WaitPosts(room, scanned+1, time.Second)
		posts := fake.Posts(room)
		for _, p := range posts[scanned:] {
			for _, name := range names.FindAllString(p.Body, -1) {
				seen[name] = true
			}
			if len(seen) == n && !res.Complete {
				res.Complete = true
				res.Elapsed = p.At.Sub(begin)
			}
		}
		scanned = len(posts)
	}
	if stormSchedule {
		for i, p := range fake.Posts(room) {
			kind := "full"
			if strings.HasPrefix(p.Body, "[info][title]Alert storm:") {
				kind = "storm"
			}
			in := map[string]bool{}
			for _, name := range names.FindAllString(p.Body, -1) {
				in[name] = true
			}
			progress("  post %2d at %6.3f s: %5s, %6d characters, %4d alerts", i+1, p.At.Sub(begin).Seconds(), kind, len(p.Body), len(in))
		}
	}
	res.Delivered = len(seen)
	res.Posts = len(fake.Posts(room))
	res.Answers = len(fake.Requests())
	res.Got429 = fake.Count(http.StatusTooManyRequests)
	res.MaxIn10s = fake.MaxInWindow(room, 10*time.Second)
	if !res.Complete {
		res.Elapsed = time.Since(begin)
	}
	return res, nil
}

// startWithFake starts the strict fake Chatwork (real limits) and a fresh
// relay with its SQLite outbox in dir, pointed at it.
func startWithFake(tb *harnessTB, relayBin, dir string) (*chatworktest.Server, *process, error) {
	fake := chatworktest.NewServer(tb, chatworktest.Options{Tokens: []string{benchToken}})
	relay, err := startRelay(relayBin, map[string]string{
		"RELAY_STORE":            "sqlite://" + dir + "/relay.db",
		"RELAY_CHATWORK_TOKEN":   benchToken,
		"RELAY_CHATWORK_API_URL": fake.URL(),
	})
	return fake, relay, err
}
