package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/relayhq/relay/internal/senders/chatwork/chatworktest"
	"github.com/relayhq/relay/internal/testenv"
)

// amToken is the Chatwork token of the Alertmanager test, distinctive enough
// that finding it in a log means it leaked.
const amToken = "cw-e2e-4f1c9d7a2b8e"

// TestAlertmanagerFiringThenResolved runs a real Alertmanager that sends to
// relay, which posts to a strict fake Chatwork: a firing alert and then its
// resolution each arrive in the room, without a single 429.
func TestAlertmanagerFiringThenResolved(t *testing.T) {
	t.Parallel()
	bin := testenv.Lookup(t, testenv.Alertmanager)
	fake := chatworktest.NewServer(t, chatworktest.Options{Tokens: []string{amToken}})
	relay := StartRelay(t, map[string]string{
		"RELAY_CHATWORK_TOKEN":   amToken,
		"RELAY_CHATWORK_API_URL": fake.URL(),
		"RELAY_STORE":            "sqlite://" + filepath.Join(t.TempDir(), "relay.db"),
	})
	am := startAlertmanager(t, bin, relay.URL+"/v1/alertmanager/chatwork/123")

	const room = "123"
	now := time.Now().UTC()
	alert := amAlert{
		Labels:       map[string]string{"alertname": "E2EDiskFull", "severity": "critical", "instance": "db1:9100"},
		Annotations:  map[string]string{"summary": "Disk /var is 97% full"},
		StartsAt:     now,
		EndsAt:       now.Add(time.Hour),
		GeneratorURL: "http://prometheus.example/graph",
	}
	am.push(t, alert)
	firing := waitPostContaining(t, fake, room, 0, "FIRING")
	for _, want := range []string{"E2EDiskFull", "Disk /var is 97% full"} {
		if !strings.Contains(firing.Body, want) {
			t.Errorf("firing post %q does not contain %q", firing.Body, want)
		}
	}

	alert.EndsAt = time.Now().UTC()
	am.push(t, alert)
	resolved := waitPostContaining(t, fake, room, len(fake.Posts(room)), "RESOLVED")
	if !strings.Contains(resolved.Body, "E2EDiskFull") {
		t.Errorf("resolved post %q does not name the alert", resolved.Body)
	}

	if n := fake.Count(http.StatusTooManyRequests); n != 0 {
		t.Errorf("fake Chatwork answered 429 %d times, want 0", n)
	}
	for name, log := range map[string]string{"stderr": relay.Stderr.String(), "stdout": relay.Stdout.String()} {
		if strings.Contains(log, amToken) {
			t.Errorf("relay %s contains the Chatwork token", name)
		}
	}
}

// waitPostContaining waits until one of room's posts after the first skip contains
// want, and returns it.
func waitPostContaining(t *testing.T, fake *chatworktest.Server, room string, skip int, want string) chatworktest.Post {
	t.Helper()
	deadline := time.Now().Add(45 * time.Second)
	for n := skip + 1; ; n++ {
		if !fake.WaitPosts(room, n, time.Until(deadline)) {
			t.Fatalf("no post containing %q reached room %s within 45s; posts: %+v", want, room, fake.Posts(room))
		}
		if p := fake.Posts(room)[n-1]; strings.Contains(p.Body, want) {
			return p
		}
	}
}

// amAlert is an alert as Alertmanager's POST /api/v2/alerts takes it.
type amAlert struct {
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     time.Time         `json:"startsAt"`
	EndsAt       time.Time         `json:"endsAt"`
	GeneratorURL string            `json:"generatorURL"`
}

// alertmanager is a running Alertmanager process.
type alertmanager struct {
	url string
}

// push posts alerts to Alertmanager's API.
func (a *alertmanager) push(t *testing.T, alerts ...amAlert) {
	t.Helper()
	body, err := json.Marshal(alerts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.url+"/api/v2/alerts", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("push alerts: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("push alerts: got status %d, want 200", resp.StatusCode)
	}
}

// amConfig routes every alert at once to one webhook, resolutions included.
const amConfig = `global:
  resolve_timeout: 1m
route:
  receiver: relay
  group_by: [alertname]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: relay
    webhook_configs:
      - url: %q
        send_resolved: true
`

// startAlertmanager runs bin with clustering off, sending to webhookURL,
// and waits until it is ready. It is stopped when the test ends.
func startAlertmanager(t *testing.T, bin, webhookURL string) *alertmanager {
	t.Helper()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "alertmanager.yml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(amConfig, webhookURL)), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := freeLocalAddr(t)
	log := &syncBuffer{}
	cmd := exec.Command(bin,
		"--config.file="+cfg,
		"--storage.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr,
		"--cluster.listen-address=",
	)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatalf("start alertmanager: %v", err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("alertmanager log:\n%s", log.String())
		}
	})
	am := &alertmanager{url: "http://" + addr}
	deadline := time.Now().Add(20 * time.Second)
	for {
		if httpReady(am.url + "/-/ready") {
			return am
		}
		select {
		case <-done:
			t.Fatalf("alertmanager exited before it was ready:\n%s", log.String())
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("alertmanager not ready within 20s:\n%s", log.String())
		}
	}
}

// httpReady reports whether GET url answers 200.
func httpReady(url string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return false
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// freeLocalAddr returns a 127.0.0.1 address with a port that was free a moment ago.
func freeLocalAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}
