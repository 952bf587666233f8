package e2e

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/relayhq/relay/internal/senders/chatwork/chatworktest"
	"github.com/relayhq/relay/internal/testenv"
)

// sharedStore returns a RELAY_STORE URL on a fresh schema of the test
// database, as several replicas would share it, and drops the schema when
// the test ends (after the relays stopped: cleanups run last-in first-out).
func sharedStore(t *testing.T) string {
	t.Helper()
	raw := testenv.Lookup(t, testenv.PostgresURL)
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := "relay_e2e_" + hex.EncodeToString(b)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, raw)
		if err != nil {
			t.Errorf("connect to drop schema: %v", err)
			return
		}
		defer func() { _ = conn.Close(ctx) }()
		if _, err := conn.Exec(ctx, `DROP SCHEMA IF EXISTS `+pgx.Identifier{schema}.Sanitize()+` CASCADE`); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatalf("parse %s: %v", testenv.PostgresURL, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// startReplicas starts n relays on one PostgreSQL outbox and one fake Chatwork.
func startReplicas(t *testing.T, n int, cw *chatworktest.Server) []*Relay {
	t.Helper()
	env := map[string]string{
		"RELAY_CHATWORK_TOKEN": cwToken, "RELAY_CHATWORK_API_URL": cw.URL(),
		"RELAY_STORE": sharedStore(t),
	}
	relays := make([]*Relay, n)
	for i := range relays {
		relays[i] = StartRelay(t, env)
	}
	return relays
}

// sendRoundRobin posts n distinct alerts named prefix<i>, 8 at a time,
// alert i to relays[i % len(relays)], and returns the names answered 202.
func sendRoundRobin(t *testing.T, relays []*Relay, path, prefix string, n int) []string {
	t.Helper()
	var (
		mu       sync.Mutex
		accepted []string
		wg       sync.WaitGroup
	)
	sem := make(chan struct{}, 8)
	for i := range n {
		name := fmt.Sprintf("%s%04d", prefix, i)
		r := relays[i%len(relays)]
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			code, ans := r.Post(t, path, "application/json", alertPayload(name, "firing"))
			if code != http.StatusAccepted {
				t.Errorf("%s: got %d %s, want 202", name, code, ans)
				return
			}
			mu.Lock()
			accepted = append(accepted, name)
			mu.Unlock()
		})
	}
	wg.Wait()
	return accepted
}

// TestReplicasStormWithOneKilled runs three relays on one PostgreSQL
// outbox, sends a storm to one room spread over all three, kills one with
// SIGKILL midway, and checks that every accepted alert reaches the room
// with no 429 and never more than 10 posts in 10 s: the limiter is global.
// The killed relay's leased messages are sent by the others once its lease
// (6 s, renewed only while its holder lives) ends.
func TestReplicasStormWithOneKilled(t *testing.T) {
	t.Parallel()
	cw := chatworktest.NewServer(t, chatworktest.Options{Tokens: []string{cwToken}})
	relays := startReplicas(t, 3, cw)
	const path = "/v1/alertmanager/chatwork/4242"

	accepted := sendRoundRobin(t, relays, path, "Storm", 150)
	if !cw.WaitPosts("4242", 1, 20*time.Second) {
		t.Fatal("nothing posted before the crash")
	}
	relays[2].Kill(t)
	accepted = append(accepted, sendRoundRobin(t, relays[:2], path, "After", 150)...)

	waitDelivered(t, cw, "4242", accepted, 150*time.Second)
	t.Logf("%d alerts accepted, %d posts", len(accepted), len(cw.Posts("4242")))
	if n := cw.Count(429); n != 0 {
		t.Errorf("chatwork answered 429 %d times, want 0", n)
	}
	if n := cw.MaxInWindow("4242", 10*time.Second); n > 10 {
		t.Errorf("%d posts in one 10 s window, want <= 10", n)
	}
	for i, r := range relays[:2] {
		if code := r.Stop(t, 30*time.Second); code != 0 {
			t.Errorf("relay %d: exit code after SIGTERM: got %d, want 0", i, code)
		}
	}
}

// TestReplicaKilledWithAPostInFlightIsTakenOver kills the replica whose
// post a slow upstream (4 s a request) holds: the
// other replica takes the lane over once the dead one's lease ends, and
// every alert reaches the room. relaybench -only failover measures how
// long that takes; this test only requires that it happens.
func TestReplicaKilledWithAPostInFlightIsTakenOver(t *testing.T) {
	t.Parallel()
	cw := chatworktest.NewServer(t, chatworktest.Options{Tokens: []string{cwToken}, Latency: 4 * time.Second})
	store := sharedStore(t)
	env := map[string]string{"RELAY_CHATWORK_TOKEN": cwToken, "RELAY_CHATWORK_API_URL": cw.URL(), "RELAY_STORE": store}
	a := StartRelay(t, env)
	const path = "/v1/alertmanager/chatwork/4545"
	accepted := sendRoundRobin(t, []*Relay{a}, path, "Failover", 20)
	if !waitFor(20*time.Second, func() bool { return cw.Holding() > 0 }) {
		t.Fatal("replica A posted nothing")
	}
	b := StartRelay(t, env)
	if cw.Holding() == 0 {
		t.Fatal("A's post ended before B was up: nothing was in flight at the kill")
	}
	killed := time.Now()
	a.Kill(t)
	waitDelivered(t, cw, "4545", accepted, 60*time.Second)
	t.Logf("all %d alerts in the room %v after the kill, in %d posts", len(accepted), time.Since(killed).Round(100*time.Millisecond), len(cw.Posts("4545")))
	if n := cw.Count(429); n != 0 {
		t.Errorf("chatwork answered 429 %d times, want 0", n)
	}
	if code := b.Stop(t, 30*time.Second); code != 0 {
		t.Errorf("replica B: exit code after SIGTERM: got %d, want 0", code)
	}
}

// TestReplicasPostDuplicateOnce sends one webhook to two replicas, as two
// Alertmanager HA peers behind a load balancer would: it is posted once,
// and the second answer is a duplicate carrying the first id.
func TestReplicasPostDuplicateOnce(t *testing.T) {
	t.Parallel()
	cw := chatworktest.NewServer(t, chatworktest.Options{Tokens: []string{cwToken}})
	relays := startReplicas(t, 2, cw)
	body := payload(t, "alertmanager/firing.json")
	var answers []map[string]any
	for _, r := range relays {
		code, ans := r.Post(t, "/v1/alertmanager/chatwork/67", "application/json", body)
		if code != http.StatusAccepted {
			t.Fatalf("got %d %s, want 202", code, ans)
		}
		var a map[string]any
		if err := json.Unmarshal(ans, &a); err != nil {
			t.Fatalf("answer %s: %v", ans, err)
		}
		answers = append(answers, a)
	}
	if answers[0]["duplicate"] != false || answers[1]["duplicate"] != true {
		t.Errorf("duplicate flags: got %v and %v, want false and true", answers[0]["duplicate"], answers[1]["duplicate"])
	}
	if answers[0]["id"] != answers[1]["id"] {
		t.Errorf("the duplicate should carry the first id: %v vs %v", answers[0]["id"], answers[1]["id"])
	}
	if !cw.WaitPosts("67", 1, 20*time.Second) {
		t.Fatal("nothing posted")
	}
	// Once the shared outbox is empty neither replica can post again.
	sent := func() float64 {
		return relays[0].Metric(t, "relay_messages_sent_total") + relays[1].Metric(t, "relay_messages_sent_total")
	}
	if !waitFor(20*time.Second, func() bool { return relays[0].Metric(t, "relay_queue_depth") == 0 && sent() > 0 }) {
		t.Fatalf("relay_queue_depth = %v, want 0", relays[0].Metric(t, "relay_queue_depth"))
	}
	if got := sent(); got != 1 {
		t.Errorf("relay_messages_sent_total over both replicas = %v, want 1", got)
	}
	if n := len(cw.Posts("67")); n != 1 {
		t.Errorf("got %d posts, want 1", n)
	}
}
