package e2e

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// hookEndpoint is a receiver of signed webhooks: it refuses a request that
// is not a JSON POST to its secret path with a valid X-Relay-Signature, as
// a careful receiver would, and keeps the bodies it accepted.
type hookEndpoint struct {
	URL    string
	secret string

	mu       sync.Mutex
	bodies   [][]byte
	refusals []string
}

func newHookEndpoint(t *testing.T, secret string) *hookEndpoint {
	h := &hookEndpoint{secret: secret}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	h.URL = "http://" + ln.Addr().String() + "/hooks/T000/B000/s3cr3t-path"
	return h
}

func (h *hookEndpoint) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	refuse := func(code int, why string) {
		h.mu.Lock()
		h.refusals = append(h.refusals, why)
		h.mu.Unlock()
		http.Error(w, why, code)
	}
	mac := hmac.New(sha256.New, []byte(h.secret))
	mac.Write(body)
	want := "sha256=" + hex.EncodeToString(mac.Sum(nil))
	switch {
	case err != nil:
		refuse(http.StatusBadRequest, "unreadable body")
	case r.Method != http.MethodPost:
		refuse(http.StatusMethodNotAllowed, "want POST")
	case r.URL.Path != "/hooks/T000/B000/s3cr3t-path":
		refuse(http.StatusNotFound, "no such hook")
	case r.Header.Get("Content-Type") != "application/json":
		refuse(http.StatusUnsupportedMediaType, "want application/json")
	case !hmac.Equal([]byte(r.Header.Get("X-Relay-Signature")), []byte(want)):
		refuse(http.StatusUnauthorized, "bad signature")
	case !json.Valid(body):
		refuse(http.StatusBadRequest, "not JSON")
	default:
		h.mu.Lock()
		h.bodies = append(h.bodies, body)
		h.mu.Unlock()
		_, _ = io.WriteString(w, "ok")
	}
}

func (h *hookEndpoint) accepted() ([][]byte, []string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([][]byte(nil), h.bodies...), append([]string(nil), h.refusals...)
}

// TestWebhookKindDeliversSignedAlert: a webhook sender from the routes file
// posts the rendered alert as {"text": ...}, signed, to its secret URL,
// which never shows in the relay's output.
func TestWebhookKindDeliversSignedAlert(t *testing.T) {
	t.Parallel()
	const secret = "hmac-key-for-e2e"
	hook := newHookEndpoint(t, secret)
	dir := t.TempDir()
	cfg := `
senders:
  hooks:
    type: webhook
    url_env: HOOK_URL
    hmac_secret_env: HOOK_SECRET
routes:
  ops:
    targets:
      - sender: hooks
`
	if err := os.WriteFile(filepath.Join(dir, "relay.yml"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	r := StartRelay(t, map[string]string{
		"RELAY_CONFIG":    filepath.Join(dir, "relay.yml"),
		"RELAY_STORE":     "sqlite://" + filepath.Join(dir, "relay.db"),
		"RELAY_LOG_LEVEL": "debug",
		"HOOK_URL":        hook.URL,
		"HOOK_SECRET":     secret,
	})
	if code, ans := r.Post(t, "/v1/alertmanager/ops", "application/json", payload(t, "alertmanager/firing.json")); code != 202 {
		t.Fatalf("got %d %s, want 202", code, ans)
	}
	deadline := time.Now().Add(30 * time.Second)
	var bodies [][]byte
	var refusals []string
	for time.Now().Before(deadline) {
		if bodies, refusals = hook.accepted(); len(bodies) > 0 || len(refusals) > 0 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if len(refusals) > 0 || len(bodies) != 1 {
		t.Fatalf("endpoint accepted %d bodies and refused %q; want one signed body", len(bodies), refusals)
	}
	var got struct {
		Text string `json:"text"`
	}
	if err := json.Unmarshal(bodies[0], &got); err != nil || !strings.Contains(got.Text, "FIRING") {
		t.Errorf("body %s: want {\"text\": ...} with the firing alert", bodies[0])
	}
	for r.Metric(t, "relay_messages_sent_total") != 1 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond) // the ack follows the post
	}
	if v := r.Metric(t, "relay_messages_sent_total"); v != 1 {
		t.Errorf("relay_messages_sent_total = %v, want 1", v)
	}
	for _, out := range []string{r.Stdout.String(), r.Stderr.String()} {
		if strings.Contains(out, "s3cr3t-path") || strings.Contains(out, secret) {
			t.Errorf("the relay's output shows the hook's URL or key:\n%s", out)
		}
	}
}
