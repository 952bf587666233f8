package e2e

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/relayhq/relay/internal/senders/chatmessenger/chatmessengertest"
	"github.com/relayhq/relay/internal/senders/chatwork/chatworktest"
)

// Credentials of the security tests. Each is distinctive, so that finding
// it anywhere in the relay's output can only mean it leaked.
const (
	secChatworkToken = "secCWtoken-7Hq2Lx9"
	secFlakyToken    = "secFLAKYtoken-3Vn8Rb1"
	secCAMToken      = "secCAMtoken-5Kp4Wz6"
	secAuthToken     = "secAUTHtoken-9Tg1Ms3"
	secAdminToken    = "secADMINtoken-2Jd7Yc8"
	secBasicPassword = "secBASICpass-6Fr5Qa4"
	secGrafanaSecret = "secHMACsecret-1Nb9Ue2"
	secGitHubSecret  = "secGITHUBsecret-8Lw3Ko7"
	secGitLabToken   = "secGITLABtoken-4Xs6Ph5"
	secEchoCWToken   = "secECHOcwtoken-4Rt8Pz2"
	secEchoCAMToken  = "secECHOcamtoken-6Wq1Dn9"
)

// secRoutes is the routes file of the security tests: one route per
// inbound auth method, and an open route (RELAY_AUTH_TOKEN) to every
// sender. The %s are the API URLs of the flaky Chatwork fake, then of the
// echoing proxies in front of a Chatwork and a Chat&Messenger fake.
const secRoutes = `
senders:
  flaky:
    type: chatwork
    api_url: %s
    token_env: SEC_FLAKY_TOKEN
  echo:
    type: chatwork
    api_url: %s
    token_env: SEC_ECHO_CW_TOKEN
  camecho:
    type: chatmessenger
    url: %s
    token_env: SEC_ECHO_CAM_TOKEN
routes:
  open:
    targets:
      - {sender: chatwork, room: "100"}
      - {sender: flaky, room: "200"}
      - {sender: echo, room: "400"}
      - {sender: camecho, panel: ops-room, users: [oncall@example.com]}
      - {sender: chatmessenger, panel: ops-room, users: [oncall@example.com]}
  basic:
    auth: {basic: {username: am, password_env: SEC_BASIC_PASSWORD}}
    targets: [{sender: chatwork, room: "101"}]
  grafana:
    auth:
      grafana_hmac: {secret_env: SEC_GRAFANA_SECRET, timestamp_header: X-Grafana-Alerting-Timestamp}
    targets: [{sender: chatwork, room: "102"}]
  github:
    auth: {github_secret_env: SEC_GITHUB_SECRET}
    targets: [{sender: chatwork, room: "103"}]
  gitlab:
    auth: {gitlab_token_env: SEC_GITLAB_TOKEN}
    targets: [{sender: chatwork, room: "104"}]
`

// secRelay is a relay with every credential set, the fakes it posts to and
// everything it was seen to say.
type secRelay struct {
	*Relay
	env        map[string]string
	cw, flaky  *chatworktest.Server
	cam        *chatmessengertest.Server
	echoCW     *chatworktest.Server
	echoCAM    *chatmessengertest.Server
	transcript *bytes.Buffer
}

// startSecRelay starts fakes and a relay with the security tests' routes
// file. cwTokens and camToken are what the fakes accept.
func startSecRelay(t *testing.T, cwTokens []string, camToken string, extra map[string]string) *secRelay {
	t.Helper()
	s := &secRelay{transcript: &bytes.Buffer{}}
	s.cw = chatworktest.NewServer(t, chatworktest.Options{Tokens: cwTokens})
	s.flaky = chatworktest.NewServer(t, chatworktest.Options{Tokens: []string{secFlakyToken}})
	s.cam = chatmessengertest.NewServer(t, chatmessengertest.Options{
		Token: camToken, Users: []string{"oncall@example.com"}, Rooms: []string{"ops-room"},
	})
	s.echoCW = chatworktest.NewServer(t, chatworktest.Options{Tokens: []string{secEchoCWToken}})
	s.echoCAM = chatmessengertest.NewServer(t, chatmessengertest.Options{
		Token: secEchoCAMToken, Users: []string{"oncall@example.com"}, Rooms: []string{"ops-room"},
	})
	cwProxy := echoingProxy(t, s.echoCW.URL(), "x-chatworktoken")
	camProxy := echoingProxy(t, s.echoCAM.URL(), "x-cam-apiToken")
	dir := t.TempDir()
	routes := filepath.Join(dir, "relay.yml")
	if err := os.WriteFile(routes, []byte(fmt.Sprintf(secRoutes, s.flaky.URL(), cwProxy, camProxy)), 0o600); err != nil {
		t.Fatal(err)
	}
	s.env = map[string]string{
		"RELAY_CONFIG":           routes,
		"RELAY_STORE":            "sqlite://" + filepath.Join(dir, "relay.db"),
		"RELAY_LOG_LEVEL":        "debug",
		"RELAY_CHATWORK_TOKEN":   secChatworkToken,
		"RELAY_CHATWORK_API_URL": s.cw.URL(),
		"RELAY_CAM_URL":          s.cam.URL(),
		"RELAY_CAM_TOKEN":        secCAMToken,
		"RELAY_AUTH_TOKEN":       secAuthToken,
		"RELAY_ADMIN_TOKEN":      secAdminToken,
		"SEC_FLAKY_TOKEN":        secFlakyToken,
		"SEC_ECHO_CW_TOKEN":      secEchoCWToken,
		"SEC_ECHO_CAM_TOKEN":     secEchoCAMToken,
		"SEC_BASIC_PASSWORD":     secBasicPassword,
		"SEC_GRAFANA_SECRET":     secGrafanaSecret,
		"SEC_GITHUB_SECRET":      secGitHubSecret,
		"SEC_GITLAB_TOKEN":       secGitLabToken,
		"RELAY_MAX_BODY_BYTES":   "8192",
		"RELAY_SHUTDOWN_TIMEOUT": "5s",
	}
	for k, v := range extra {
		s.env[k] = v
	}
	s.Relay = StartRelay(t, s.env)
	return s
}

// echoingProxy is a reverse proxy to target, as a corporate proxy or a
// misconfigured gateway would be, that replaces every 2xx answer with an
// HTML page quoting the request's header (the upstream token). It returns
// the proxy's URL with target's path.
func echoingProxy(t *testing.T, target, header string) string {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: u.Scheme, Host: u.Host})
	proxy.ModifyResponse = func(resp *http.Response) error {
		if resp.StatusCode/100 != 2 {
			return nil
		}
		_ = resp.Body.Close()
		page := "<html><body>proxy ok; forwarded " + header + ": " + resp.Request.Header.Get(header) + "</body></html>"
		resp.Body = io.NopCloser(strings.NewReader(page))
		resp.ContentLength = int64(len(page))
		resp.Header.Set("Content-Length", strconv.Itoa(len(page)))
		resp.Header.Set("Content-Type", "text/html")
		return nil
	}
	srv := httptest.NewServer(proxy)
	t.Cleanup(srv.Close)
	return srv.URL + u.Path
}

// call sends a request to the relay, records the answer in the transcript
// and returns it. headers are name, value pairs.
func (s *secRelay) call(t *testing.T, method, path, contentType string, body []byte, headers ...string) (int, http.Header, []byte) {
	t.Helper()
	code, h, b := httpCall(t, method, s.URL+path, contentType, body, headers...)
	fmt.Fprintf(s.transcript, "%s %s -> %d %v %s\n", method, path, code, h, b)
	return code, h, b
}

// httpCall sends one request and returns the status, headers and body.
func httpCall(t *testing.T, method, url, contentType string, body []byte, headers ...string) (int, http.Header, []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read answer: %v", method, url, err)
	}
	return resp.StatusCode, resp.Header, b
}

// runCLI runs the relay binary with args, env (nothing else inherited but
// PATH and HOME) and stdin, and returns its exit code and combined output.
func runCLI(t *testing.T, env map[string]string, stdin []byte, args ...string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, relayBin, args...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Stdin = bytes.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0, string(out)
	case errors.As(err, &ee):
		return ee.ExitCode(), string(out)
	}
	t.Fatalf("run relay %v: %v", args, err)
	return 0, ""
}

// bearer returns an Authorization header for token.
func bearer(token string) []string { return []string{"Authorization", "Bearer " + token} }

// basicAuth returns an Authorization header for basic auth.
func basicAuth(user, password string) []string {
	return []string{"Authorization", "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+password))}
}

// grafanaSigned returns Grafana's signature and timestamp headers for body
// signed at ts with secret.
func grafanaSigned(secret string, ts time.Time, body []byte) []string {
	stamp := strconv.FormatInt(ts.Unix(), 10)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(stamp + ":"))
	mac.Write(body)
	return []string{"X-Grafana-Alerting-Signature", hex.EncodeToString(mac.Sum(nil)),
		"X-Grafana-Alerting-Timestamp", stamp}
}

// gitHubSigned returns GitHub's signature header of body with secret.
func gitHubSigned(secret string, body []byte) []string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return []string{"X-GitHub-Event", "workflow_run", "X-Hub-Signature-256", "sha256=" + hex.EncodeToString(mac.Sum(nil))}
}

// waitFor polls cond every 100ms until it holds or timeout passes.
func waitFor(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(100 * time.Millisecond)
	}
	return true
}

// metricSum sums the samples of a metric family in Prometheus text format.
func metricSum(text, name string) float64 {
	sum := 0.0
	for _, line := range strings.Split(text, "\n") {
		if !strings.HasPrefix(line, name+"{") && !strings.HasPrefix(line, name+" ") {
			continue
		}
		fields := strings.Fields(line)
		if v, err := strconv.ParseFloat(fields[len(fields)-1], 64); err == nil {
			sum += v
		}
	}
	return sum
}

// TestSecretsNeverLeak runs the relay with every credential set, at debug
// level, against upstreams that refuse its tokens or fail, drives every
// endpoint and CLI command with good and bad credentials, and then looks
// for every secret in everything the relay said.
func TestSecretsNeverLeak(t *testing.T) {
	t.Parallel()
	s := startSecRelay(t, []string{"upstream-wants-another-token"}, "cam-wants-another-token", nil)
	s.flaky.FailNext(2, http.StatusInternalServerError)
	am := payload(t, "alertmanager/firing.json")
	gh := payload(t, "generic/github_workflow_run_failure.json")
	gl := payload(t, "generic/gitlab_pipeline_failed.json")
	now := time.Now()

	// Authorised: to a Chatwork that answers 401, a Chat&Messenger that
	// answers 805, and a Chatwork that fails twice with 500.
	if code, _, b := s.call(t, "POST", "/v1/alertmanager/open", "application/json", am, bearer(secAuthToken)...); code != 202 {
		t.Fatalf("authorised webhook: got %d %s, want 202", code, b)
	}
	// Every other way in, good and bad.
	requests := []struct {
		path, contentType string
		body              []byte
		headers           []string
	}{
		{"/v1/alertmanager/open", "application/json", am, nil},
		{"/v1/alertmanager/open", "application/json", am, bearer(secAdminToken)},
		{"/v1/alertmanager/open", "application/json", am, basicAuth("am", secAuthToken)},
		{"/v1/alertmanager/basic", "application/json", am, basicAuth("am", secBasicPassword)},
		{"/v1/alertmanager/basic", "application/json", am, basicAuth("am", secAuthToken)},
		{"/v1/grafana/grafana", "application/json", payload(t, "grafana/unified_firing.json"),
			grafanaSigned(secGrafanaSecret, now, payload(t, "grafana/unified_firing.json"))},
		{"/v1/grafana/grafana", "application/json", am, grafanaSigned("not-"+secGrafanaSecret, now, am)},
		{"/v1/generic/github", "application/json", gh, gitHubSigned(secGitHubSecret, gh)},
		{"/v1/generic/github", "application/json", gh, gitHubSigned(secGitLabToken, gh)},
		{"/v1/generic/gitlab", "application/json", gl, []string{"X-Gitlab-Event", "Pipeline Hook", "X-Gitlab-Token", secGitLabToken}},
		{"/v1/generic/gitlab", "application/json", gl, []string{"X-Gitlab-Token", secGitHubSecret}},
		{"/v1/preview/alertmanager/open", "application/json", am, bearer(secAuthToken)},
		{"/v1/alertmanager/open", "application/json", []byte(`{"status": `), bearer(secAuthToken)},
		{"/v1/alertmanager/chatwork/300", "application/json", am, bearer(secAuthToken)},
	}
	for _, r := range requests {
		s.call(t, "POST", r.path, r.contentType, r.body, r.headers...)
	}

	// Wait until every delivery has failed for good or got through.
	if !s.flaky.WaitPosts("200", 1, 60*time.Second) {
		t.Errorf("the flaky Chatwork got no post after its 500s")
	}
	// The echoing proxies answered 2xx pages that quote the tokens.
	if !s.echoCW.WaitPosts("400", 1, 60*time.Second) {
		t.Errorf("the Chatwork behind the echoing proxy got no post")
	}
	if !s.echoCAM.WaitMessages(1, 60*time.Second) {
		t.Errorf("the Chat&Messenger behind the echoing proxy got no message")
	}
	var dead struct {
		DeadLetters []json.RawMessage `json:"dead_letters"`
	}
	if !waitFor(60*time.Second, func() bool {
		code, _, b := httpCall(t, "GET", s.URL+"/api/v1/deadletters", "", nil, bearer(secAdminToken)...)
		return code == 200 && json.Unmarshal(b, &dead) == nil && len(dead.DeadLetters) >= 3
	}) {
		t.Errorf("got %d dead letters, want at least 3 (Chatwork 401s and Chat&Messenger 805)", len(dead.DeadLetters))
	}
	if n := s.cw.Count(http.StatusUnauthorized); n == 0 {
		t.Errorf("the Chatwork fake answered no 401; the relay did not try the refused token")
	}
	if n := s.flaky.Count(http.StatusInternalServerError); n != 2 {
		t.Errorf("the flaky fake answered %d 500s, want 2", n)
	}

	// Operations and admin endpoints, with and without the right token.
	s.call(t, "GET", "/api/v1/deadletters", "", nil, bearer(secAdminToken)...)
	for _, c := range []struct {
		method, path string
		headers      []string
		want         int
	}{
		{"GET", "/metrics", nil, 200},
		{"GET", "/readyz", nil, 503}, // the Chatwork fake refuses the token: /readyz says so
		{"GET", "/healthz", nil, 200},
		{"GET", "/api/v1/deadletters", bearer(secAuthToken), 401},
		{"GET", "/api/v1/deadletters", nil, 401},
		{"POST", "/api/v1/deadletters/requeue", bearer("wrong-" + secAdminToken), 401},
		{"POST", "/-/reload", bearer(secAuthToken), 401},
		{"POST", "/-/reload", bearer(secAdminToken), 200},
	} {
		if code, _, b := s.call(t, c.method, c.path, "", nil, c.headers...); code != c.want {
			t.Errorf("%s %s: got %d %s, want %d", c.method, c.path, code, b, c.want)
		}
	}

	// The CLI, with the same environment.
	code, out := runCLI(t, s.env, nil, "check-config")
	fmt.Fprintf(s.transcript, "check-config -> %d\n%s\n", code, out)
	if code != 0 {
		t.Errorf("check-config exited %d:\n%s", code, out)
	}
	literal := filepath.Join(t.TempDir(), "literal.yml")
	lit := "routes:\n  ops:\n    auth: {bearer_token: " + secAuthToken + "}\n    targets: [{sender: console}]\n"
	if err := os.WriteFile(literal, []byte(lit), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out = runCLI(t, s.env, nil, "check-config", literal)
	fmt.Fprintf(s.transcript, "check-config literal -> %d\n%s\n", code, out)
	if code == 0 {
		t.Errorf("check-config accepted a routes file with a literal secret:\n%s", out)
	}
	code, out = runCLI(t, s.env, am, "render", "--source", "alertmanager")
	fmt.Fprintf(s.transcript, "render -> %d\n%s\n", code, out)
	if code != 0 || !strings.Contains(out, "HighErrorRate") {
		t.Errorf("render exited %d, want 0 and the alert:\n%s", code, out)
	}

	if code := s.Stop(t, 30*time.Second); code != 0 {
		t.Errorf("exit code after SIGTERM: got %d, want 0", code)
	}
	everything := map[string]string{
		"stderr (log)": s.Stderr.String(),
		"stdout":       s.Stdout.String(),
		"HTTP and CLI": s.transcript.String(),
		"dead letters": fmt.Sprintf("%s", dead.DeadLetters),
	}
	secrets := []string{secChatworkToken, secFlakyToken, secCAMToken, secAuthToken, secAdminToken, secEchoCWToken, secEchoCAMToken,
		secBasicPassword, secGrafanaSecret, secGitHubSecret, secGitLabToken,
		base64.StdEncoding.EncodeToString([]byte("am:" + secBasicPassword)),
		base64.StdEncoding.EncodeToString([]byte("am:" + secAuthToken))}
	for where, text := range everything {
		if text == "" && where != "stdout" {
			t.Errorf("%s is empty: the test captured nothing to check", where)
		}
		for _, sec := range secrets {
			if i := strings.Index(text, sec); i >= 0 {
				t.Errorf("%s shows a secret: ...%s...", where, text[max(0, i-120):min(len(text), i+len(sec)+40)])
			}
		}
	}
	if t.Failed() {
		t.Logf("transcript:\n%s", s.transcript)
	}
}

// TestInboundAuthAndLimits sends bad requests of every kind - no or wrong
// credentials for each auth method, too large, wrong type, malformed,
// unknown - then good ones, and checks the answers and that the upstreams
// received exactly the good ones.
func TestInboundAuthAndLimits(t *testing.T) {
	t.Parallel()
	s := startSecRelay(t, []string{secChatworkToken}, secCAMToken, nil)
	am := payload(t, "alertmanager/firing.json")
	graf := payload(t, "grafana/unified_firing.json")
	gh := payload(t, "generic/github_workflow_run_failure.json")
	gl := payload(t, "generic/gitlab_pipeline_failed.json")
	big := append(bytes.TrimRight(am, "}\n"), []byte(`, "padding": "`+strings.Repeat("x", 9000)+`"}`)...)
	now := time.Now()
	bodyOnly := func(secret string, body []byte) []string { // Grafana's signature without the timestamp
		mac := hmac.New(sha256.New, []byte(secret))
		mac.Write(body)
		return []string{"X-Grafana-Alerting-Signature", hex.EncodeToString(mac.Sum(nil))}
	}
	gitlab := func(token string) []string {
		return []string{"X-Gitlab-Event", "Pipeline Hook", "X-Gitlab-Token", token}
	}

	bad := []struct {
		name, path, contentType string
		body                    []byte
		headers                 []string
		want                    int
		wantMsg                 string // in the JSON error
	}{
		{"no credentials", "/v1/alertmanager/open", "application/json", am, nil, 401, "unauthorized"},
		{"wrong bearer", "/v1/alertmanager/open", "application/json", am, bearer("x" + secAuthToken), 401, "unauthorized"},
		{"admin token is not the webhook token", "/v1/alertmanager/open", "application/json", am, bearer(secAdminToken), 401, "unauthorized"},
		{"direct target without credentials", "/v1/alertmanager/chatwork/901", "application/json", am, nil, 401, "unauthorized"},
		{"global token on a route with its own auth", "/v1/alertmanager/basic", "application/json", am, bearer(secAuthToken), 401, "unauthorized"},
		{"wrong basic password", "/v1/alertmanager/basic", "application/json", am, basicAuth("am", "x"+secBasicPassword), 401, "unauthorized"},
		{"wrong basic user", "/v1/alertmanager/basic", "application/json", am, basicAuth("root", secBasicPassword), 401, "unauthorized"},
		{"unsigned Grafana", "/v1/grafana/grafana", "application/json", graf, nil, 401, "unauthorized"},
		{"Grafana signed with another secret", "/v1/grafana/grafana", "application/json", graf, grafanaSigned("x"+secGrafanaSecret, now, graf), 401, "unauthorized"},
		{"stale Grafana timestamp", "/v1/grafana/grafana", "application/json", graf, grafanaSigned(secGrafanaSecret, now.Add(-time.Hour), graf), 401, "unauthorized"},
		{"Grafana without the timestamp", "/v1/grafana/grafana", "application/json", graf, bodyOnly(secGrafanaSecret, graf), 401, "unauthorized"},
		{"Grafana signature of another body", "/v1/grafana/grafana", "application/json", graf, grafanaSigned(secGrafanaSecret, now, am), 401, "unauthorized"},
		{"GitHub signed with another secret", "/v1/generic/github", "application/json", gh, gitHubSigned("x"+secGitHubSecret, gh), 401, "unauthorized"},
		{"GitHub unsigned", "/v1/generic/github", "application/json", gh, []string{"X-GitHub-Event", "workflow_run"}, 401, "unauthorized"},
		{"wrong GitLab token", "/v1/generic/gitlab", "application/json", gl, gitlab("x" + secGitLabToken), 401, "unauthorized"},
		{"body over RELAY_MAX_BODY_BYTES", "/v1/alertmanager/chatwork/902", "application/json", big, bearer(secAuthToken), 413, "8192"},
		{"XML", "/v1/alertmanager/chatwork/903", "application/xml", am, bearer(secAuthToken), 415, "application/xml"},
		{"text to Alertmanager", "/v1/alertmanager/chatwork/904", "text/plain", []byte("disk full"), bearer(secAuthToken), 415, "text/plain"},
		{"malformed JSON", "/v1/alertmanager/chatwork/905", "application/json", []byte("{\"status\": \"firing\",\n\"alerts\": [}"), bearer(secAuthToken), 400, "line 2"},
		{"wrong JSON type", "/v1/alertmanager/chatwork/906", "application/json", []byte(`{"version": "4", "alerts": {}}`), bearer(secAuthToken), 400, "alerts"},
		{"unknown route", "/v1/alertmanager/nope", "application/json", am, bearer(secAuthToken), 404, "nope"},
		{"unknown source", "/v1/nagios/open", "application/json", am, bearer(secAuthToken), 404, "nagios"},
	}
	for _, c := range bad {
		code, h, b := s.call(t, "POST", c.path, c.contentType, c.body, c.headers...)
		var e struct {
			Error  string `json:"error"`
			Status int    `json:"status"`
		}
		switch {
		case code != c.want:
			t.Errorf("%s: got %d %s, want %d", c.name, code, b, c.want)
		case !strings.HasPrefix(h.Get("Content-Type"), "application/json") || json.Unmarshal(b, &e) != nil:
			t.Errorf("%s: answer %q (%s) is not a JSON error", c.name, b, h.Get("Content-Type"))
		case e.Status != c.want || !strings.Contains(e.Error, c.wantMsg):
			t.Errorf("%s: error %+v, want status %d and a reason with %q", c.name, e, c.want, c.wantMsg)
		}
	}

	good := []struct {
		name, path, contentType string
		body                    []byte
		headers                 []string
		messages                int
	}{
		{"bearer RELAY_AUTH_TOKEN", "/v1/alertmanager/open", "application/json", am, bearer(secAuthToken), 5},
		{"RELAY_AUTH_TOKEN as basic password", "/v1/alertmanager/chatwork/106", "application/json", am, basicAuth("am", secAuthToken), 1},
		{"route basic auth", "/v1/alertmanager/basic", "application/json", am, basicAuth("am", secBasicPassword), 1},
		{"Grafana HMAC with timestamp", "/v1/grafana/grafana", "application/json", graf, grafanaSigned(secGrafanaSecret, now, graf), 1},
		{"GitHub signature", "/v1/generic/github", "application/json", gh, gitHubSigned(secGitHubSecret, gh), 1},
		{"GitLab token", "/v1/generic/gitlab", "application/json", gl, gitlab(secGitLabToken), 1},
	}
	want := 0
	for _, c := range good {
		code, _, b := s.call(t, "POST", c.path, c.contentType, c.body, c.headers...)
		var res struct {
			ID       string `json:"id"`
			Messages int    `json:"messages"`
		}
		if code != 202 || json.Unmarshal(b, &res) != nil || res.ID == "" || res.Messages != c.messages {
			t.Errorf("%s: got %d %s, want 202 with an id and %d messages", c.name, code, b, c.messages)
		}
		want += c.messages
	}

	for _, path := range []string{"/healthz", "/readyz", "/metrics"} {
		if code, _, b := s.call(t, "GET", path, "", nil); code != 200 {
			t.Errorf("GET %s without credentials: got %d %s, want 200", path, code, b)
		}
	}

	// Only the good requests reach the upstreams.
	for _, room := range []string{"100", "101", "102", "103", "104", "106"} {
		if !s.cw.WaitPosts(room, 1, 30*time.Second) {
			t.Errorf("Chatwork room %s got no post", room)
		}
	}
	if !s.flaky.WaitPosts("200", 1, 30*time.Second) {
		t.Error("the second Chatwork sender got no post")
	}
	if !s.cam.WaitMessages(1, 30*time.Second) {
		t.Error("Chat&Messenger got no message")
	}
	_, _, metrics := s.call(t, "GET", "/metrics", "", nil)
	if got := metricSum(string(metrics), "relay_messages_enqueued_total"); got != float64(want) {
		t.Errorf("relay_messages_enqueued_total = %v, want %d (the good requests' messages only)", got, want)
	}
	for _, p := range s.cw.Requests() {
		if p.Status != 200 || strings.HasPrefix(p.Room, "9") {
			t.Errorf("Chatwork got a request for room %s answered %d; want only the good rooms, all 200", p.Room, p.Status)
		}
	}
	posts := 0
	for _, p := range s.cw.Requests() {
		if p.Kind != chatworktest.KindMe { // GET /me: the token checked at start
			posts++
		}
	}
	if posts != 6 {
		t.Errorf("Chatwork got %d posts, want 6", posts)
	}
	if n := s.cam.Requests(); n != 1 {
		t.Errorf("Chat&Messenger got %d requests, want 1", n)
	}
}

// TestSlowHeadersAreCutOff: a client that sends its request headers one
// byte a second is disconnected once the server's header timeout (5 s)
// passes, and does not hold the connection.
func TestSlowHeadersAreCutOff(t *testing.T) {
	t.Parallel()
	r := StartRelay(t, map[string]string{"RELAY_STORE": "sqlite://" + filepath.Join(t.TempDir(), "relay.db")})
	conn, err := net.DialTimeout("tcp", strings.TrimPrefix(r.URL, "http://"), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		req := "POST /v1/alertmanager/chatwork/1 HTTP/1.1\r\nHost: relay\r\nContent-Type: application/json\r\n" +
			strings.Repeat("X-Slow: a\r\n", 20)
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for i := 0; i < len(req); i++ {
			if _, err := conn.Write([]byte{req[i]}); err != nil {
				return
			}
			select {
			case <-tick.C:
			case <-stop:
				return
			}
		}
	}()
	start := time.Now()
	if err := conn.SetReadDeadline(start.Add(20 * time.Second)); err != nil {
		t.Fatal(err)
	}
	_, err = io.Copy(io.Discard, conn) // returns when the server closes the connection
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("the server still held the connection after %v", time.Since(start).Round(time.Second))
	}
	if took := time.Since(start); took > 15*time.Second {
		t.Errorf("the server cut the connection after %v, want about 5s (ReadHeaderTimeout)", took.Round(time.Second))
	}
}
