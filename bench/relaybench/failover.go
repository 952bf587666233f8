package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/relayhq/relay/internal/senders/chatwork/chatworktest"
)

// failoverResult is what one failover run measured.
type failoverResult struct {
	Alerts    int
	Latency   time.Duration // the fake upstream's time per request
	InFlight  bool          // the killed replica held a post in flight
	Delivered int           // distinct alerts in the room
	Elapsed   time.Duration // from the kill until the last alert was in the room
	Posts     int
	Dropped   int // requests the fake dropped because their client went away (posts, GET /me)
	Repeated  int // alerts posted more than once (at-least-once)
	Got429    int
	MaxIn10s  int
	Complete  bool
}

// runFailover starts two relays on one PostgreSQL database (a schema of
// their own) and a fake Chatwork that takes latency per request, posts
// alerts to replica A while B is not running, waits until A holds a post
// in flight, starts B, kills A (SIGKILL) and measures how long after the
// kill every alert is in the room.
func runFailover(ctx context.Context, relayBin, pgURL string, alerts int, latency, timeout time.Duration) (failoverResult, error) {
	res := failoverResult{Alerts: alerts, Latency: latency}
	schema := fmt.Sprintf("relaybench_failover_%d", time.Now().UnixNano())
	store, err := withSearchPath(pgURL, schema)
	if err != nil {
		return res, err
	}
	defer dropSchema(pgURL, schema)

	tb := &harnessTB{}
	defer tb.close()
	fake := chatworktest.NewServer(tb, chatworktest.Options{Tokens: []string{benchToken}, Latency: latency})
	env := map[string]string{
		"RELAY_STORE":            store,
		"RELAY_CHATWORK_TOKEN":   benchToken,
		"RELAY_CHATWORK_API_URL": fake.URL(),
	}
	a, err := startRelay(relayBin, env)
	if err != nil {
		return res, err
	}
	defer a.kill()

	const room = "4343"
	run := fmt.Sprintf("F%d", alerts)
	load := runLoad(ctx, loadSpec{URL: a.URL + "/v1/alertmanager/chatwork/" + room, Run: run, Clients: 4, Count: alerts})
	if load.Failed > 0 {
		return res, fmt.Errorf("failover: %d webhooks failed, first: %s", load.Failed, load.FirstErr)
	}
	if !waitFor(ctx, 30*time.Second, func() bool { return fake.Holding() > 0 }) {
		return res, fmt.Errorf("failover: replica A posted nothing within 30s:\n%s", a.tail)
	}
	b, err := startRelay(relayBin, env)
	if err != nil {
		return res, err
	}
	defer b.stop()
	res.InFlight = fake.Holding() > 0
	kill := time.Now()
	a.kill()

	names := regexp.MustCompile(`Bench` + run + `[0-9]{7}`)
	seen := map[string]int{}
	scanned := 0
	deadline := time.Now().Add(timeout)
	for len(seen) < alerts && time.Now().Before(deadline) && ctx.Err() == nil {
		fake.WaitPosts(room, scanned+1, time.Second)
		posts := fake.Posts(room)
		for _, p := range posts[scanned:] {
			in := map[string]bool{}
			for _, name := range names.FindAllString(p.Body, -1) {
				in[name] = true
			}
			for name := range in {
				seen[name]++
			}
			if len(seen) == alerts && !res.Complete {
				res.Complete = true
				res.Elapsed = p.At.Sub(kill)
			}
		}
		scanned = len(posts)
	}
	for _, n := range seen {
		if n > 1 {
			res.Repeated++
		}
	}
	res.Delivered = len(seen)
	res.Posts = len(fake.Posts(room))
	res.Got429 = fake.Count(http.StatusTooManyRequests)
	res.Dropped = fake.Count(0)
	res.MaxIn10s = fake.MaxInWindow(room, 10*time.Second)
	if !res.Complete {
		res.Elapsed = time.Since(kill)
	}
	return res, nil
}

// withSearchPath returns the PostgreSQL URL raw with search_path=schema.
func withSearchPath(raw, schema string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("parse -postgres: %w", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// dropSchema removes a run's schema; a failure leaves it for the operator.
func dropSchema(raw, schema string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, raw)
	if err != nil {
		progress("failover: cannot drop schema %s: %v", schema, err)
		return
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{schema}.Sanitize()+" CASCADE"); err != nil {
		progress("failover: cannot drop schema %s: %v", schema, err)
	}
}

// waitFor polls cond every 5 ms until it holds or timeout passes.
func waitFor(ctx context.Context, timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) || ctx.Err() != nil {
			return false
		}
		time.Sleep(5 * time.Millisecond)
	}
	return true
}
