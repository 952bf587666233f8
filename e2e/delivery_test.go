package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/relayhq/relay/internal/senders/chatmessenger/chatmessengertest"
	"github.com/relayhq/relay/internal/senders/chatwork/chatworktest"
)

const (
	cwToken  = "cw-e2e-token-4f1a9b"
	camToken = "cam-e2e-token-77c0d2"
)

// fixture is a payload and what its message must show.
type fixture struct {
	source, file, contentType string
	want                      []string // alert names and key labels
}

var fixtures = []fixture{
	{"alertmanager", "alertmanager/firing.json", "application/json", []string{"HighErrorRate", "critical"}},
	{"alertmanager", "alertmanager/multi_firing.json", "application/json", []string{"InstanceDown"}},
	{"grafana", "grafana/unified_firing.json", "application/json", []string{"High CPU usage"}},
	{"grafana", "grafana/legacy_alerting.json", "application/json", []string{"/var/lib/postgresql"}},
	{"generic", "generic/gitlab_pipeline_failed.json", "application/json", []string{"failed"}},
	{"generic", "generic/github_workflow_run_failure.json", "application/json", []string{"failed", "example-org/checkout-api"}},
	{"generic", "generic/plain.json", "application/json", []string{"BackupFailed", "backup-1.prod.example.com"}},
	{"generic", "generic/message.txt", "text/plain; charset=utf-8", []string{"db-1.prod.example.com", "対応"}},
}

func startUpstreams(t *testing.T) (*chatworktest.Server, *chatmessengertest.Server) {
	cw := chatworktest.NewServer(t, chatworktest.Options{Tokens: []string{cwToken}})
	cam := chatmessengertest.NewServer(t, chatmessengertest.Options{
		Token: camToken, Users: []string{"oncall@example.com", "lead@example.com"}, Rooms: []string{"ops-room"},
	})
	return cw, cam
}

func relayEnv(t *testing.T, cw *chatworktest.Server, cam *chatmessengertest.Server) map[string]string {
	return map[string]string{
		"RELAY_CHATWORK_TOKEN":   cwToken,
		"RELAY_CHATWORK_API_URL": cw.URL(),
		"RELAY_CAM_URL":          cam.URL(),
		"RELAY_CAM_TOKEN":        camToken,
		"RELAY_STORE":            "sqlite://" + filepath.Join(t.TempDir(), "relay.db"),
		"RELAY_LOG_LEVEL":        "debug",
	}
}

// TestDeliversEverySourceToEverySender sends each fixture to a direct
// Chatwork room and a Chat&Messenger room and checks what the strict fakes
// received.
func TestDeliversEverySourceToEverySender(t *testing.T) {
	t.Parallel()
	cw, cam := startUpstreams(t)
	r := StartRelay(t, relayEnv(t, cw, cam))
	for i, f := range fixtures {
		room := fmt.Sprint(1000 + i)
		body := payload(t, f.file)
		code, ans := r.Post(t, "/v1/"+f.source+"/chatwork/"+room, f.contentType, body)
		if code != 202 {
			t.Fatalf("%s to chatwork: got %d %s, want 202", f.file, code, ans)
		}
		code, ans = r.Post(t, "/v1/"+f.source+"/chatmessenger/ops-room?users=oncall@example.com", f.contentType, body)
		if code != 202 {
			t.Fatalf("%s to chatmessenger: got %d %s, want 202", f.file, code, ans)
		}
	}
	if !cam.WaitMessages(len(fixtures), 30*time.Second) {
		t.Fatalf("chatmessenger got %d messages, want %d", len(cam.Messages()), len(fixtures))
	}
	msgs := cam.Messages()
	for i, f := range fixtures {
		room := fmt.Sprint(1000 + i)
		if !cw.WaitPosts(room, 1, 30*time.Second) {
			t.Fatalf("%s: nothing posted to chatwork room %s", f.file, room)
		}
		post := cw.Posts(room)[0].Body
		for _, w := range f.want {
			if !strings.Contains(post, w) {
				t.Errorf("%s: chatwork post lacks %q:\n%s", f.file, w, post)
			}
		}
		if !strings.HasPrefix(post, "[info]") && !strings.Contains(post, "[info]") {
			t.Errorf("%s: chatwork post does not use Chatwork notation:\n%s", f.file, post)
		}
		found := false
		for _, m := range msgs {
			ok := m.PanelName == "ops-room"
			for _, w := range f.want {
				ok = ok && strings.Contains(m.Message, w)
			}
			found = found || ok
		}
		if !found && len(f.want) > 0 {
			t.Errorf("%s: no chatmessenger message shows %q", f.file, f.want)
		}
	}
	if n := cw.Count(429); n != 0 {
		t.Errorf("chatwork answered 429 %d times, want 0", n)
	}
	if strings.Contains(r.Stderr.String(), cwToken) || strings.Contains(r.Stderr.String(), camToken) {
		t.Error("a token appears in the relay's log")
	}
}

// TestRoutesFile delivers through a route with matchers and mentions.
func TestRoutesFile(t *testing.T) {
	t.Parallel()
	cw, cam := startUpstreams(t)
	env := relayEnv(t, cw, cam)
	dir := t.TempDir()
	cfg := `
routes:
  ops:
    targets:
      - sender: chatwork
        room: "42"
        mentions: {to: [1111], when: {status: [firing]}}
      - sender: chatmessenger
        panel: messenger
        users: [oncall@example.com]
        matchers: ['severity="critical"']
`
	if err := os.WriteFile(filepath.Join(dir, "relay.yml"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	env["RELAY_CONFIG"] = filepath.Join(dir, "relay.yml")
	r := StartRelay(t, env)
	code, ans := r.Post(t, "/v1/alertmanager/ops", "application/json", payload(t, "alertmanager/firing.json"))
	if code != 202 {
		t.Fatalf("got %d %s, want 202", code, ans)
	}
	var res struct {
		ID       string
		Messages int
	}
	if err := json.Unmarshal(ans, &res); err != nil || res.Messages != 2 || res.ID == "" {
		t.Fatalf("answer %s: want an id and 2 messages", ans)
	}
	if !cw.WaitPosts("42", 1, 30*time.Second) {
		t.Fatal("nothing posted to room 42")
	}
	if post := cw.Posts("42")[0].Body; !strings.HasPrefix(post, "[To:1111]") {
		t.Errorf("post does not start with the mention:\n%s", post)
	}
	if !cam.WaitMessages(1, 30*time.Second) {
		t.Fatal("no direct message")
	}
	if m := cam.Messages()[0]; m.PanelName != "messenger" || strings.Join(m.Users, ",") != "oncall@example.com" {
		t.Errorf("direct message to %q %v, want messenger [oncall@example.com]", m.PanelName, m.Users)
	}
	// Unknown route: 404 and nothing queued.
	if code, _ := r.Post(t, "/v1/alertmanager/nope", "application/json", payload(t, "alertmanager/firing.json")); code != 404 {
		t.Errorf("unknown route: got %d, want 404", code)
	}
}

// TestDryRunPrintsRenderedAlert runs the relay with no credentials at all,
// as the README's quick start does.
func TestDryRunPrintsRenderedAlert(t *testing.T) {
	t.Parallel()
	r := StartRelay(t, map[string]string{"RELAY_STORE": "sqlite://" + filepath.Join(t.TempDir(), "relay.db")})
	first, _, _ := strings.Cut(r.Stderr.String(), "\n")
	if !strings.Contains(first, "DRY-RUN") {
		t.Errorf("first log line does not say dry-run: %s", first)
	}
	code, ans := r.Post(t, "/v1/alertmanager/chatwork/123456", "application/json", payload(t, "alertmanager/firing.json"))
	if code != 202 {
		t.Fatalf("got %d %s, want 202", code, ans)
	}
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(r.Stdout.String(), "HighErrorRate") {
		if time.Now().After(deadline) {
			t.Fatalf("stdout never showed the rendered alert:\n%s", r.Stdout.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if code := r.Stop(t, 30*time.Second); code != 0 {
		t.Errorf("exit code after SIGTERM: got %d, want 0", code)
	}
}
