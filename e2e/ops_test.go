package e2e

import (
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/relayhq/relay/internal/senders/chatwork/chatworktest"
)

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func writeFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
}

const routesV1 = `
routes:
  ops:
    targets:
      - sender: chatwork
        room: "10"
`

const routesV2 = `
templates: ./templates
routes:
  ops:
    targets:
      - sender: chatwork
        room: "10"
  db:
    targets:
      - sender: chatwork
        room: "20"
        template: short
`

// TestReload changes the routes file under a running relay: a bad file is
// rejected by POST /-/reload and the old configuration keeps working; a good
// one takes effect, by POST /-/reload and by SIGHUP.
func TestReload(t *testing.T) {
	t.Parallel()
	cw := chatworktest.NewServer(t, chatworktest.Options{Tokens: []string{cwToken}})
	dir := t.TempDir()
	cfg := filepath.Join(dir, "relay.yml")
	writeFile(t, cfg, routesV1)
	if err := os.Mkdir(filepath.Join(dir, "templates"), 0o700); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "templates", "short.tmpl"), `SHORT {{ .Status }} {{ .CommonLabels.alertname }}`)
	r := StartRelay(t, map[string]string{
		"RELAY_CHATWORK_TOKEN": cwToken, "RELAY_CHATWORK_API_URL": cw.URL(), "RELAY_CONFIG": cfg,
		"RELAY_STORE": "sqlite://" + filepath.Join(dir, "relay.db"), "RELAY_ADMIN_TOKEN": "reload-admin-token",
	})
	admin := []string{"Authorization", "Bearer reload-admin-token"}
	body := payload(t, "alertmanager/firing.json")
	if code, _ := r.Post(t, "/v1/alertmanager/db", "application/json", body); code != 404 {
		t.Fatalf("route db before reload: got %d, want 404", code)
	}

	// A broken file is rejected and counted; the old routes stay.
	writeFile(t, cfg, "routes:\n  ops:\n    targets:\n      - sender: nosuch\n        room: \"10\"\n")
	code, ans := r.Post(t, "/-/reload", "", nil, admin...)
	if code != http.StatusInternalServerError || !strings.Contains(string(ans), "relay.yml:") {
		t.Errorf("reload of a bad file: got %d %s, want 500 naming the file and line", code, ans)
	}
	if _, m := get(t, r.URL+"/metrics"); !strings.Contains(m, "relay_config_last_reload_successful 0") {
		t.Error("relay_config_last_reload_successful is not 0 after a failed reload")
	}
	if code, _ := r.Post(t, "/v1/alertmanager/ops", "application/json", body); code != 202 {
		t.Fatalf("old route after a failed reload: got %d, want 202", code)
	}

	// A good file with a new route and a custom template, by POST /-/reload.
	writeFile(t, cfg, routesV2)
	if code, ans := r.Post(t, "/-/reload", "", nil, admin...); code != 200 {
		t.Fatalf("reload: got %d %s, want 200", code, ans)
	}
	if code, ans := r.Post(t, "/v1/alertmanager/db", "application/json", body); code != 202 {
		t.Fatalf("new route after reload: got %d %s, want 202", code, ans)
	}
	if !cw.WaitPosts("20", 1, 20*time.Second) {
		t.Fatal("nothing posted through the new route")
	}
	if p := cw.Posts("20")[0].Body; p != "SHORT firing HighErrorRate" {
		t.Errorf("custom template: got %q", p)
	}

	// SIGHUP: remove route db again.
	writeFile(t, cfg, routesV1)
	_ = r.cmd.Process.Signal(syscall.SIGHUP)
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, _ := r.Post(t, "/v1/alertmanager/db", "application/json", alertPayload("AfterHup", "firing"))
		if code == 404 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("route db still answers %d 10 s after SIGHUP", code)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if _, m := get(t, r.URL+"/metrics"); !strings.Contains(m, "relay_config_last_reload_successful 1") {
		t.Error("relay_config_last_reload_successful is not 1 after a good reload")
	}
}

// TestMetricsAndProbes checks the operating endpoints and that every metric
// the dashboard and alerting rules in deploy/ query is exported.
func TestMetricsAndProbes(t *testing.T) {
	t.Parallel()
	cw := chatworktest.NewServer(t, chatworktest.Options{Tokens: []string{cwToken}})
	r := StartRelay(t, map[string]string{
		"RELAY_CHATWORK_TOKEN": cwToken, "RELAY_CHATWORK_API_URL": cw.URL(),
		"RELAY_STORE": "sqlite://" + filepath.Join(t.TempDir(), "relay.db"),
	})
	if code, _ := r.Post(t, "/v1/alertmanager/chatwork/5", "application/json", payload(t, "alertmanager/firing.json")); code != 202 {
		t.Fatal("webhook not accepted")
	}
	if !cw.WaitPosts("5", 1, 20*time.Second) {
		t.Fatal("nothing posted")
	}
	for _, p := range []string{"/healthz", "/readyz"} {
		if code, b := get(t, r.URL+p); code != 200 {
			t.Errorf("GET %s: got %d %s, want 200", p, code, b)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, m := get(t, r.URL+"/metrics")
		var missing []string
		for name := range relayMetrics {
			switch name {
			case "relay_messages_retried_total", "relay_template_fallbacks_total":
				continue // labelled by reason or template: no series before the first event
			}
			if !strings.Contains(m, "\n"+name) {
				missing = append(missing, name)
			}
		}
		if len(missing) == 0 {
			if !strings.Contains(m, `relay_webhooks_received_total{code="202",route="direct_chatwork",source="alertmanager"} 1`) {
				t.Errorf("webhook counter with route pattern label missing:\n%s", grep(m, "relay_webhooks_received_total"))
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("metrics not exported: %v", missing)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func grep(text, substr string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestQueueCapAnswers503 fills the outbox to RELAY_MAX_QUEUED while the
// upstream is down: the next webhook gets 503 with Retry-After, which
// Alertmanager retries, and nothing is lost.
func TestQueueCapAnswers503(t *testing.T) {
	t.Parallel()
	cw := chatworktest.NewServer(t, chatworktest.Options{Tokens: []string{cwToken}})
	cw.SetDown(true)
	r := StartRelay(t, map[string]string{
		"RELAY_CHATWORK_TOKEN": cwToken, "RELAY_CHATWORK_API_URL": cw.URL(), "RELAY_MAX_QUEUED": "3",
		"RELAY_STORE": "sqlite://" + filepath.Join(t.TempDir(), "relay.db"),
	})
	for i := 0; i < 3; i++ {
		if code, ans := r.Post(t, "/v1/alertmanager/chatwork/8", "application/json", alertPayload("Cap"+string(rune('A'+i)), "firing")); code != 202 {
			t.Fatalf("webhook %d: got %d %s, want 202", i, code, ans)
		}
	}
	req, _ := http.NewRequest(http.MethodPost, r.URL+"/v1/alertmanager/chatwork/8", strings.NewReader(string(alertPayload("CapD", "firing"))))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Errorf("over the cap: got %d Retry-After %q, want 503 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	cw.SetDown(false)
	waitDelivered(t, cw, "8", []string{"CapA", "CapB", "CapC"}, 60*time.Second)
}

// TestCLI covers version, render and check-config as users run them.
func TestCLI(t *testing.T) {
	t.Parallel()
	run := func(stdin string, args ...string) (string, int) {
		cmd := exec.Command(relayBin, args...)
		cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
		cmd.Stdin = strings.NewReader(stdin)
		out, _ := cmd.CombinedOutput()
		return string(out), cmd.ProcessState.ExitCode()
	}
	if out, code := run("", "version"); code != 0 || !strings.HasPrefix(out, "relay ") {
		t.Errorf("version: %d %q", code, out)
	}
	am := string(payload(t, "alertmanager/firing.json"))
	if out, code := run(am, "render", "--source", "alertmanager"); code != 0 || !strings.Contains(out, "[info]") || !strings.Contains(out, "HighErrorRate") {
		t.Errorf("render for chatwork: %d\n%s", code, out)
	}
	if out, code := run(am, "render", "--source", "alertmanager", "--sender", "chatmessenger"); code != 0 || strings.Contains(out, "[info]") || !strings.Contains(out, "HighErrorRate") {
		t.Errorf("render for chatmessenger: %d\n%s", code, out)
	}
	if out, code := run("{", "render", "--source", "alertmanager"); code == 0 || !strings.Contains(out, "invalid JSON") {
		t.Errorf("render of bad JSON: %d %s, want an error naming the problem", code, out)
	}
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yml")
	writeFile(t, good, routesV1)
	bad := filepath.Join(dir, "bad.yml")
	writeFile(t, bad, "routes:\n  ops:\n    targets:\n      - sender: chatwork\n        room: abc\n")
	if out, code := run("", "check-config", good); code != 0 || !strings.Contains(out, "OK") {
		t.Errorf("check-config of a good file: %d %s", code, out)
	}
	if out, code := run("", "check-config", bad); code == 0 || !strings.Contains(out, "bad.yml:5") {
		t.Errorf("check-config of a bad file: %d %s, want non-zero naming bad.yml:5", code, out)
	}
}
