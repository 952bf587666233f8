package amtemplate

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"syscall"
	"testing"
	"time"
)

// The environment variables relay's tests read (internal/testenv, which
// this module cannot import).
const (
	envAlertmanager = "RELAY_TEST_ALERTMANAGER"
	envRequireAll   = "RELAY_TEST_REQUIRE_ALL"
)

// capturedDir holds the webhook bodies captured from real Alertmanagers,
// one per version: captured-<version>.json.
const capturedDir = "../../testdata/payloads/alertmanager"

// TestLiveAlertmanagerPayload runs the Alertmanager binary named by
// RELAY_TEST_ALERTMANAGER with a webhook receiver pointing at a local
// listener, pushes one firing and one resolved alert, and takes the body
// of the first notification. Every corpus template and every named
// template of default.tmpl must render it as Alertmanager does, and the
// body must have the fields of the committed capture of the same version
// (with -update the capture is written anew). This is how
// captured-<version>.json was made.
func TestLiveAlertmanagerPayload(t *testing.T) {
	bin := os.Getenv(envAlertmanager)
	if bin == "" {
		if os.Getenv(envRequireAll) != "" {
			t.Fatalf("%s is not set, and %s forbids skipping this test", envAlertmanager, envRequireAll)
		}
		t.Skipf("%s is not set; skipping", envAlertmanager)
	}
	t.Parallel()
	version := amVersion(t, bin)
	body := capture(t, bin)

	fixture := filepath.Join(capturedDir, "captured-"+version+".json")
	if *update {
		if err := os.WriteFile(fixture, body, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	committed, err := os.ReadFile(fixture)
	if err != nil {
		t.Fatalf("no capture committed for Alertmanager %s: run this test with -update (%v)", version, err)
	}
	if got, want := shape(t, body), shape(t, committed); !slices.Equal(got, want) {
		t.Errorf("Alertmanager %s sends the fields\n%q\nthe committed capture has\n%q\nrecapture with -update", version, got, want)
	}

	ps := []payload{{name: "live-" + version, body: body}}
	differ(t, nil, nil, builtinNames(t), ps)
	styles, err := filepath.Glob("testdata/corpus/*")
	if err != nil {
		t.Fatal(err)
	}
	for _, dir := range styles {
		files, err := filepath.Glob(filepath.Join(dir, "*"))
		if err != nil {
			t.Fatal(err)
		}
		differ(t, []string{filepath.Join(dir, "*")}, []string{dir}, definedNames(t, files...), ps)
	}
}

// amVersion returns the version the binary reports ("0.25.0").
func amVersion(t *testing.T, bin string) string {
	t.Helper()
	out, err := exec.Command(bin, "--version").CombinedOutput()
	if err != nil {
		t.Fatalf("%s --version: %v\n%s", bin, err, out)
	}
	m := regexp.MustCompile(`version (\d+\.\d+\.\d+)`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("no version in %q", out)
	}
	return string(m[1])
}

// shape returns the top-level and per-alert field names of a webhook body.
func shape(t *testing.T, body []byte) []string {
	t.Helper()
	var m struct {
		Alerts []map[string]any `json:"alerts"`
	}
	var top map[string]any
	if err := json.Unmarshal(body, &top); err != nil {
		t.Fatalf("decode webhook body: %v", err)
	}
	if err := json.Unmarshal(body, &m); err != nil || len(m.Alerts) == 0 {
		t.Fatalf("webhook body without alerts: %v", err)
	}
	names := slices.Sorted(maps.Keys(top))
	for _, k := range slices.Sorted(maps.Keys(m.Alerts[0])) {
		names = append(names, "alerts[]."+k)
	}
	return names
}

// captureConfig sends every group to one webhook at once, resolved alerts
// included; the receiver's name holds a character Alertmanager escapes.
const captureConfig = `route:
  receiver: team-db.oncall
  group_by: [alertname, team]
  group_wait: 1s
  group_interval: 1m
  repeat_interval: 1h
receivers:
  - name: team-db.oncall
    webhook_configs:
      - url: %q
        send_resolved: true
`

// captureAlerts are pushed to Alertmanager's API: one firing (its end
// left to Alertmanager), one that ended already.
const captureAlerts = `[
  {"labels": {"alertname": "DiskFillingUp", "team": "db", "account": "acme", "Zone": "eu-1a", "instance": "db-1:9100", "severity": "warning"},
   "annotations": {"summary": "Disk /var on db-1 fills in 4h", "description": "Predicted full at the current rate.\nFree: 12%", "runbook_url": "https://runbooks.example.com/disk"},
   "startsAt": "2025-03-02T10:00:00Z", "generatorURL": "http://prometheus:9090/graph?g0.expr=predict_linear"},
  {"labels": {"alertname": "DiskFillingUp", "team": "db", "account": "acme", "Zone": "eu-1b", "instance": "db-2:9100", "severity": "critical"},
   "annotations": {"summary": "Disk /var on db-2 fills in 1h", "runbook_url": "https://runbooks.example.com/disk"},
   "startsAt": "2025-03-02T09:00:00Z", "endsAt": "2025-03-02T09:30:00Z", "generatorURL": "http://prometheus:9090/graph?g0.expr=predict_linear"}
]`

// capture runs bin and returns the first webhook body it posts.
func capture(t *testing.T, bin string) []byte {
	t.Helper()
	bodies := make(chan []byte, 4)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		select {
		case bodies <- b:
		default:
		}
	}))
	defer hook.Close()

	dir := t.TempDir()
	cfg := filepath.Join(dir, "alertmanager.yml")
	if err := os.WriteFile(cfg, fmt.Appendf(nil, captureConfig, hook.URL+"/webhook"), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	var log bytes.Buffer
	cmd := exec.Command(bin, "--config.file="+cfg, "--storage.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr, "--cluster.listen-address=", "--web.external-url=http://alertmanager.example.com:9093")
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("alertmanager log:\n%s", log.String())
		}
	}()

	base := "http://" + addr
	deadline := time.Now().Add(20 * time.Second)
	for !ready(base + "/-/ready") {
		if time.Now().After(deadline) {
			t.Fatal("alertmanager not ready within 20s")
		}
		time.Sleep(100 * time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/api/v2/alerts", bytes.NewReader([]byte(captureAlerts)))
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
	select {
	case b := <-bodies:
		return b
	case <-time.After(30 * time.Second):
		t.Fatal("no webhook from alertmanager within 30s")
	}
	return nil
}

func ready(url string) bool {
	resp, err := http.Get(url)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// freeAddr returns a loopback address with a port free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}
