package e2e

import (
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/relayhq/relay/internal/senders/chatwork/chatworktest"
	"github.com/relayhq/relay/internal/testenv"
)

// followRoutes: room 123 edits its firing message on resolve and has a
// task for it, marked done on resolve; room 456 answers a firing message
// with a reply.
const followRoutes = `
routes:
  ops:
    targets:
      - sender: chatwork
        room: "123"
        on_resolve: edit
        task: {to: [1111], limit: 2h, done_on_resolve: true}
      - sender: chatwork
        room: "456"
        on_resolve: reply
`

// TestAlertmanagerRoomFollowsTheAlert runs a real Alertmanager that sends
// a firing group and then its resolution to relay: room 123 ends with one
// message, the firing one edited into the resolve, and its task done; in
// room 456 the resolve is a reply to the firing message, from the account
// GET /me names.
//
// On PostgreSQL two replicas share the outbox: either may deliver any
// step, and what one remembers of the group the other reads.
func TestAlertmanagerRoomFollowsTheAlert(t *testing.T) {
	t.Parallel()
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		followTheAlert(t, func(t *testing.T, dir string) string { return "sqlite://" + filepath.Join(dir, "relay.db") }, 1)
	})
	t.Run("postgres with two replicas", func(t *testing.T) {
		t.Parallel()
		followTheAlert(t, func(t *testing.T, _ string) string { return sharedStore(t) }, 2)
	})
}

func followTheAlert(t *testing.T, store func(t *testing.T, dir string) string, replicas int) {
	bin := testenv.Lookup(t, testenv.Alertmanager)
	fake := chatworktest.NewServer(t, chatworktest.Options{Tokens: []string{amToken}, AccountID: 5550001})
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "relay.yml"), followRoutes)
	env := map[string]string{
		"RELAY_CHATWORK_TOKEN":   amToken,
		"RELAY_CHATWORK_API_URL": fake.URL(),
		"RELAY_STORE":            store(t, dir),
		"RELAY_CONFIG":           filepath.Join(dir, "relay.yml"),
	}
	relay := StartRelay(t, env)
	others := []*Relay{}
	for range replicas - 1 {
		others = append(others, StartRelay(t, env))
	}
	am := startAlertmanager(t, bin, relay.URL+"/v1/alertmanager/ops")

	started := time.Now().UTC().Truncate(time.Second)
	alert := amAlert{
		Labels:      map[string]string{"alertname": "E2EFollow", "severity": "critical"},
		Annotations: map[string]string{"summary": "Disk /var is 97% full"},
		StartsAt:    started, EndsAt: started.Add(time.Hour),
	}
	am.push(t, alert)
	if !fake.WaitFor(45*time.Second, func() bool {
		return len(fake.Tasks("123")) == 1 && len(fake.Messages("456")) == 1
	}) {
		t.Fatalf("firing not delivered: room 123 %+v, tasks %+v, room 456 %+v",
			fake.Messages("123"), fake.Tasks("123"), fake.Messages("456"))
	}
	firing := fake.Messages("123")
	if len(firing) != 1 || !strings.Contains(firing[0].Body, "FIRING") {
		t.Fatalf("room 123 = %+v, want one firing message", firing)
	}
	task := fake.Tasks("123")[0]
	if task.Assignee != "1111" || task.Status != chatworktest.TaskOpen || !strings.Contains(task.Body, "E2EFollow") ||
		!task.Limit.Equal(started.Add(2*time.Hour)) {
		t.Errorf("task = %+v, want an open task for 1111 about E2EFollow due 2h after %v", task, started)
	}

	alert.EndsAt = time.Now().UTC()
	am.push(t, alert)
	if !fake.WaitFor(45*time.Second, func() bool {
		ts := fake.Tasks("123")
		return len(ts) == 1 && ts[0].Status == chatworktest.TaskDone && len(fake.Messages("456")) == 2
	}) {
		t.Fatalf("resolve not followed: room 123 %+v, tasks %+v, room 456 %+v",
			fake.Messages("123"), fake.Tasks("123"), fake.Messages("456"))
	}
	msgs := fake.Messages("123")
	if len(msgs) != 1 || !msgs[0].Edited() || !strings.Contains(msgs[0].Body, "RESOLVED") ||
		!strings.Contains(msgs[0].History[0], "FIRING") {
		t.Errorf("room 123 = %+v, want its one message edited from FIRING to RESOLVED", msgs)
	}
	replies := fake.Messages("456")
	if r := replies[1]; r.ReplyTo != "456-"+replies[0].ID || r.ReplyAccount != "5550001" || !strings.Contains(r.Body, "RESOLVED") {
		t.Errorf("room 456 resolve = %+v, want a reply by 5550001 to 456-%s", r, replies[0].ID)
	}
	if replies[0].Edited() {
		t.Errorf("room 456 firing message was edited: %+v", replies[0])
	}
	if n := fake.Count(http.StatusTooManyRequests); n != 0 {
		t.Errorf("fake Chatwork answered 429 %d times, want 0", n)
	}
	if code, b := get(t, relay.URL+"/readyz"); code != 200 {
		t.Errorf("GET /readyz = %d %s, want 200", code, b)
	}
	// Every operation was made once, by whichever replica.
	for op, want := range map[string]float64{"edit": 1, "task": 1, "task_done": 1, "reply": 1, "post": 2} {
		got := 0.0
		for _, r := range append([]*Relay{relay}, others...) {
			_, m := get(t, r.URL+"/metrics")
			got += metricSum(m, `relay_upstream_operations_total{op="`+op+`",outcome="success",sender="chatwork"}`)
		}
		if got != want {
			t.Errorf("relay_upstream_operations_total{op=%q,outcome=\"success\"} = %v over the replicas, want %v", op, got, want)
		}
	}
	for _, r := range append([]*Relay{relay}, others...) {
		for name, log := range map[string]string{"stderr": r.Stderr.String(), "stdout": r.Stdout.String()} {
			if strings.Contains(log, amToken) {
				t.Errorf("relay %s contains the Chatwork token", name)
			}
		}
	}
}

// TestReadyzSaysTheTokenIsRefused: with a token Chatwork refuses, /readyz
// fails and says so, without the token.
func TestReadyzSaysTheTokenIsRefused(t *testing.T) {
	t.Parallel()
	const refused = "cw-e2e-refused-77d1e0"
	fake := chatworktest.NewServer(t, chatworktest.Options{Tokens: []string{"another-token"}})
	relay := StartRelay(t, map[string]string{
		"RELAY_CHATWORK_TOKEN":   refused,
		"RELAY_CHATWORK_API_URL": fake.URL(),
		"RELAY_STORE":            "sqlite://" + filepath.Join(t.TempDir(), "relay.db"),
	})
	code, b := get(t, relay.URL+"/readyz")
	if code != http.StatusServiceUnavailable || !strings.Contains(b, "refuses the token") {
		t.Errorf("GET /readyz = %d %s, want 503 saying the token is refused", code, b)
	}
	if strings.Contains(b, refused) {
		t.Errorf("/readyz answer %s holds the token", b)
	}
	for deadline := time.Now().Add(15 * time.Second); !strings.Contains(relay.Stderr.String(), "refuses the token"); {
		if time.Now().After(deadline) {
			t.Fatalf("the start check logged nothing about the refused token:\n%s", relay.Stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if strings.Contains(relay.Stderr.String(), refused) {
		t.Error("relay stderr contains the token")
	}
}
