package e2e

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/relayhq/relay/internal/senders/chatwork/chatworktest"
)

// alertPayload is an Alertmanager webhook with one distinct alert.
func alertPayload(name, status string) []byte {
	now := time.Now().UTC()
	p := map[string]any{
		"version": "4", "groupKey": "{}:{alertname=\"" + name + "\"}", "status": status,
		"receiver": "e2e", "externalURL": "http://alertmanager.example:9093",
		"groupLabels":       map[string]string{"alertname": name},
		"commonLabels":      map[string]string{"alertname": name, "severity": "critical"},
		"commonAnnotations": map[string]string{"summary": name + " is on fire"},
		"alerts": []map[string]any{{
			"status": status, "labels": map[string]string{"alertname": name, "severity": "critical", "instance": "db-1"},
			"annotations": map[string]string{"summary": name + " is on fire"},
			"startsAt":    now.Format(time.RFC3339), "endsAt": "0001-01-01T00:00:00Z",
			"generatorURL": "http://prometheus.example/graph", "fingerprint": fingerprint(name),
		}},
	}
	b, _ := json.Marshal(p)
	return b
}

func fingerprint(name string) string {
	h := fnv.New64a()
	_, _ = h.Write([]byte(name))
	return fmt.Sprintf("%016x", h.Sum64())
}

// sendAll posts n distinct alerts named prefix<i> concurrently to r and
// returns the names that were answered 202.
func sendAll(t *testing.T, r *Relay, path, prefix string, n int) []string {
	t.Helper()
	return sendRoundRobin(t, []*Relay{r}, path, prefix, n)
}

// waitDelivered waits until every name appears in some post to room.
func waitDelivered(t *testing.T, cw *chatworktest.Server, room string, names []string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		var all strings.Builder
		for _, p := range cw.Posts(room) {
			all.WriteString(p.Body)
		}
		text := all.String()
		var missing []string
		for _, n := range names {
			if !strings.Contains(text, n) {
				missing = append(missing, n)
			}
		}
		if len(missing) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d accepted alerts never reached room %s, e.g. %v", len(missing), len(names), room, missing[:min(5, len(missing))])
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestKill9LosesNothing kills the relay with SIGKILL while it delivers a
// backlog, starts it again on the same outbox and checks that every alert
// it answered 202 reaches the room, with no 429 on either side of the crash.
func TestKill9LosesNothing(t *testing.T) {
	t.Parallel()
	cw := chatworktest.NewServer(t, chatworktest.Options{Tokens: []string{cwToken}})
	env := map[string]string{
		"RELAY_CHATWORK_TOKEN": cwToken, "RELAY_CHATWORK_API_URL": cw.URL(),
		"RELAY_STORE": "sqlite://" + filepath.Join(t.TempDir(), "relay.db"),
	}
	r1 := StartRelay(t, env)
	accepted := sendAll(t, r1, "/v1/alertmanager/chatwork/777", "Crash", 200)
	if !cw.WaitPosts("777", 1, 20*time.Second) {
		t.Fatal("nothing posted before the crash")
	}
	r1.Kill(t)
	before := len(cw.Posts("777"))

	r2 := StartRelay(t, env)
	waitDelivered(t, cw, "777", accepted, 60*time.Second)
	t.Logf("%d alerts accepted; %d posts before the crash, %d in all", len(accepted), before, len(cw.Posts("777")))
	if n := cw.Count(429); n != 0 {
		t.Errorf("chatwork answered 429 %d times, want 0", n)
	}
	if n := cw.MaxInWindow("777", 10*time.Second); n > 10 {
		t.Errorf("%d posts in one 10 s window, want <= 10", n)
	}
	if code := r2.Stop(t, 30*time.Second); code != 0 {
		t.Errorf("exit code after SIGTERM: got %d, want 0", code)
	}
}

// TestUpstreamOutage keeps Chatwork down for a while: alerts wait in the
// outbox and arrive once it is back.
func TestUpstreamOutage(t *testing.T) {
	t.Parallel()
	cw := chatworktest.NewServer(t, chatworktest.Options{Tokens: []string{cwToken}})
	cw.SetDown(true)
	r := StartRelay(t, map[string]string{
		"RELAY_CHATWORK_TOKEN": cwToken, "RELAY_CHATWORK_API_URL": cw.URL(),
		"RELAY_STORE": "sqlite://" + filepath.Join(t.TempDir(), "relay.db"),
	})
	accepted := sendAll(t, r, "/v1/alertmanager/chatwork/55", "Outage", 20)
	// The relay tries, fails, tries again, and keeps every alert queued.
	tried := func() int {
		n := 0
		for _, p := range cw.Requests() {
			if p.Room == "55" {
				n++
			}
		}
		return n
	}
	if !waitFor(30*time.Second, func() bool { return tried() >= 2 }) {
		t.Fatalf("the relay tried room 55 %d times while the upstream was down, want at least 2", tried())
	}
	if got := r.Metric(t, "relay_queue_depth"); got != float64(len(accepted)) {
		t.Errorf("relay_queue_depth = %v while the upstream is down, want %d", got, len(accepted))
	}
	if got := r.Metric(t, "relay_messages_dead_lettered_total"); got != 0 {
		t.Errorf("relay_messages_dead_lettered_total = %v, want 0", got)
	}
	cw.SetDown(false)
	waitDelivered(t, cw, "55", accepted, 60*time.Second)
}

// TestDuplicateWebhookPostedOnce sends what two Alertmanager HA peers send.
func TestDuplicateWebhookPostedOnce(t *testing.T) {
	t.Parallel()
	cw := chatworktest.NewServer(t, chatworktest.Options{Tokens: []string{cwToken}})
	r := StartRelay(t, map[string]string{
		"RELAY_CHATWORK_TOKEN": cwToken, "RELAY_CHATWORK_API_URL": cw.URL(),
		"RELAY_STORE": "sqlite://" + filepath.Join(t.TempDir(), "relay.db"),
	})
	body := payload(t, "alertmanager/firing.json")
	var answers []map[string]any
	for i := 0; i < 2; i++ {
		code, ans := r.Post(t, "/v1/alertmanager/chatwork/66", "application/json", body)
		if code != 202 {
			t.Fatalf("got %d %s, want 202", code, ans)
		}
		var a map[string]any
		_ = json.Unmarshal(ans, &a)
		answers = append(answers, a)
	}
	if answers[0]["duplicate"] != false || answers[1]["duplicate"] != true {
		t.Errorf("duplicate flags: got %v and %v, want false and true", answers[0]["duplicate"], answers[1]["duplicate"])
	}
	if answers[0]["id"] != answers[1]["id"] {
		t.Errorf("a duplicate should carry the first id: %v vs %v", answers[0]["id"], answers[1]["id"])
	}
	if !cw.WaitPosts("66", 1, 20*time.Second) {
		t.Fatal("nothing posted")
	}
	// Once the outbox is empty nothing more can be posted: the duplicate
	// was never queued, nor folded into the post.
	if !waitFor(20*time.Second, func() bool {
		return r.Metric(t, "relay_queue_depth") == 0 && r.Metric(t, "relay_messages_sent_total") > 0
	}) {
		t.Fatalf("relay_queue_depth = %v, want 0", r.Metric(t, "relay_queue_depth"))
	}
	if got := r.Metric(t, "relay_messages_sent_total"); got != 1 {
		t.Errorf("relay_messages_sent_total = %v, want 1", got)
	}
	if n := len(cw.Posts("66")); n != 1 {
		t.Errorf("got %d posts, want 1", n)
	}
}

// TestDeadLetterAndRequeue sends to a room Chatwork does not know: the
// message goes to the dead letters with the reason, and can be re-queued
// with the CLI.
func TestDeadLetterAndRequeue(t *testing.T) {
	t.Parallel()
	cw := chatworktest.NewServer(t, chatworktest.Options{Tokens: []string{cwToken}, Rooms: []string{"1"}})
	const admin = "admin-e2e-secret"
	r := StartRelay(t, map[string]string{
		"RELAY_CHATWORK_TOKEN": cwToken, "RELAY_CHATWORK_API_URL": cw.URL(), "RELAY_ADMIN_TOKEN": admin,
		"RELAY_STORE": "sqlite://" + filepath.Join(t.TempDir(), "relay.db"),
	})
	if code, ans := r.Post(t, "/v1/alertmanager/chatwork/999", "application/json", payload(t, "alertmanager/firing.json")); code != 202 {
		t.Fatalf("got %d %s, want 202", code, ans)
	}
	cli := func(args ...string) string {
		cmd := exec.Command(relayBin, append([]string{"deadletters"}, append(args, "--url", r.URL)...)...)
		cmd.Env = []string{"RELAY_ADMIN_TOKEN=" + admin}
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("relay deadletters %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(cli("list"), "http_404") {
		if time.Now().After(deadline) {
			t.Fatalf("no dead letter with reason http_404:\n%s", cli("list"))
		}
		time.Sleep(200 * time.Millisecond)
	}
	if out := cli("requeue"); !strings.Contains(out, "1") {
		t.Errorf("requeue answered %s, want a count of 1", out)
	}
	// Without the admin token the API refuses.
	req, _ := http.NewRequest(http.MethodGet, r.URL+"/api/v1/deadletters", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized && resp.StatusCode != http.StatusForbidden {
		t.Errorf("dead letters without token: got %d, want 401 or 403", resp.StatusCode)
	}
}
