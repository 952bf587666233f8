package auth

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/relayhq/relay/internal/secret"
)

var now = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

const body = `{"status":"firing"}`

func sign(key, msg string) string {
	mac := hmac.New(sha256.New, []byte(key))
	mac.Write([]byte(msg))
	return hex.EncodeToString(mac.Sum(nil))
}

func request(headers map[string]string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/v1/grafana/ops", strings.NewReader(body))
	for k, v := range headers {
		r.Header.Set(k, v)
	}
	return r
}

func basic(user, pass string) string {
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.SetBasicAuth(user, pass)
	return r.Header.Get("Authorization")
}

type checkCase struct {
	name    string
	cfg     Config
	headers map[string]string
	wantErr bool
}

func runChecks(t *testing.T, cases []checkCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := Check(tc.cfg, request(tc.headers), []byte(body), now)
			if tc.wantErr {
				var ae *Error
				if !errors.As(err, &ae) {
					t.Fatalf("got %v, want an *auth.Error", err)
				}
				if ae.Reason == "" {
					t.Error("got an empty reason")
				}
				return
			}
			if err != nil {
				t.Fatalf("got %v, want the request let in", err)
			}
		})
	}
}

func TestCheckEmptyConfigLetsEverythingIn(t *testing.T) {
	t.Parallel()
	runChecks(t, []checkCase{
		{name: "no headers", cfg: Config{}},
		{name: "any Authorization", cfg: Config{}, headers: map[string]string{"Authorization": "Bearer whatever"}},
	})
}

func TestCheckBearer(t *testing.T) {
	t.Parallel()
	cfg := Config{Bearer: secret.New("s3cret")}
	runChecks(t, []checkCase{
		{name: "right token", cfg: cfg, headers: map[string]string{"Authorization": "Bearer s3cret"}},
		{name: "scheme is case-insensitive", cfg: cfg, headers: map[string]string{"Authorization": "bearer s3cret"}},
		{name: "token as basic-auth password, any user", cfg: cfg, headers: map[string]string{"Authorization": basic("alertmanager", "s3cret")}},
		{name: "wrong token", cfg: cfg, headers: map[string]string{"Authorization": "Bearer s3creT"}, wantErr: true},
		{name: "prefix of the token", cfg: cfg, headers: map[string]string{"Authorization": "Bearer s3cr"}, wantErr: true},
		{name: "token with a suffix", cfg: cfg, headers: map[string]string{"Authorization": "Bearer s3cret2"}, wantErr: true},
		{name: "empty token", cfg: cfg, headers: map[string]string{"Authorization": "Bearer "}, wantErr: true},
		{name: "token without scheme", cfg: cfg, headers: map[string]string{"Authorization": "s3cret"}, wantErr: true},
		{name: "other scheme", cfg: cfg, headers: map[string]string{"Authorization": "Token s3cret"}, wantErr: true},
		{name: "wrong basic-auth password", cfg: cfg, headers: map[string]string{"Authorization": basic("u", "nope")}, wantErr: true},
		{name: "missing header", cfg: cfg, wantErr: true},
		{name: "token in another header", cfg: cfg, headers: map[string]string{"X-Gitlab-Token": "s3cret"}, wantErr: true},
	})
}

func TestCheckBasic(t *testing.T) {
	t.Parallel()
	cfg := Config{BasicUser: "am", BasicPassword: secret.New("pw")}
	anyUser := Config{BasicPassword: secret.New("pw")}
	runChecks(t, []checkCase{
		{name: "right user and password", cfg: cfg, headers: map[string]string{"Authorization": basic("am", "pw")}},
		{name: "wrong password", cfg: cfg, headers: map[string]string{"Authorization": basic("am", "pW")}, wantErr: true},
		{name: "wrong user", cfg: cfg, headers: map[string]string{"Authorization": basic("root", "pw")}, wantErr: true},
		{name: "empty password", cfg: cfg, headers: map[string]string{"Authorization": basic("am", "")}, wantErr: true},
		{name: "password as bearer token", cfg: cfg, headers: map[string]string{"Authorization": "Bearer pw"}, wantErr: true},
		{name: "malformed base64", cfg: cfg, headers: map[string]string{"Authorization": "Basic !!!"}, wantErr: true},
		{name: "missing header", cfg: cfg, wantErr: true},
		{name: "no user configured: any user", cfg: anyUser, headers: map[string]string{"Authorization": basic("whoever", "pw")}},
		{name: "no user configured: wrong password", cfg: anyUser, headers: map[string]string{"Authorization": basic("whoever", "x")}, wantErr: true},
	})
}

func TestCheckGrafanaHMAC(t *testing.T) {
	t.Parallel()
	plain := Config{GrafanaHMAC: &GrafanaHMAC{Secret: secret.New("key")}}
	custom := Config{GrafanaHMAC: &GrafanaHMAC{Secret: secret.New("key"), Header: "X-Sig"}}
	stamped := Config{GrafanaHMAC: &GrafanaHMAC{Secret: secret.New("key"), TimestampHeader: "X-Grafana-Alerting-Signature-Timestamp"}}
	tight := Config{GrafanaHMAC: &GrafanaHMAC{Secret: secret.New("key"), TimestampHeader: "X-Ts", MaxSkew: 10 * time.Second}}
	ts := func(d time.Duration) string { return strconv.FormatInt(now.Add(d).Unix(), 10) }
	stampedHeaders := func(stamp, signed string) map[string]string {
		return map[string]string{
			"X-Grafana-Alerting-Signature-Timestamp": stamp,
			"X-Grafana-Alerting-Signature":           sign("key", signed+":"+body),
		}
	}
	runChecks(t, []checkCase{
		{name: "body signed", cfg: plain, headers: map[string]string{"X-Grafana-Alerting-Signature": sign("key", body)}},
		{name: "upper-case hex", cfg: plain, headers: map[string]string{"X-Grafana-Alerting-Signature": strings.ToUpper(sign("key", body))}},
		{name: "custom header name", cfg: custom, headers: map[string]string{"X-Sig": sign("key", body)}},
		{name: "custom header configured, default header sent", cfg: custom, headers: map[string]string{"X-Grafana-Alerting-Signature": sign("key", body)}, wantErr: true},
		{name: "wrong key", cfg: plain, headers: map[string]string{"X-Grafana-Alerting-Signature": sign("other", body)}, wantErr: true},
		{name: "other body signed", cfg: plain, headers: map[string]string{"X-Grafana-Alerting-Signature": sign("key", body+" ")}, wantErr: true},
		{name: "not hex", cfg: plain, headers: map[string]string{"X-Grafana-Alerting-Signature": "zz"}, wantErr: true},
		{name: "missing signature", cfg: plain, wantErr: true},
		{name: "timestamp:body signed", cfg: stamped, headers: stampedHeaders(ts(0), ts(0))},
		{name: "timestamp a little old", cfg: stamped, headers: stampedHeaders(ts(-4*time.Minute), ts(-4*time.Minute))},
		{name: "timestamp a little ahead", cfg: stamped, headers: stampedHeaders(ts(4*time.Minute), ts(4*time.Minute))},
		{name: "stale timestamp", cfg: stamped, headers: stampedHeaders(ts(-6*time.Minute), ts(-6*time.Minute)), wantErr: true},
		{name: "future timestamp", cfg: stamped, headers: stampedHeaders(ts(6*time.Minute), ts(6*time.Minute)), wantErr: true},
		{name: "timestamp replaced after signing", cfg: stamped, headers: stampedHeaders(ts(0), ts(-time.Hour)), wantErr: true},
		{name: "timestamp not a number", cfg: stamped, headers: stampedHeaders("soon", "soon"), wantErr: true},
		{name: "huge timestamp", cfg: stamped, headers: stampedHeaders("9223372036854775807", "9223372036854775807"), wantErr: true},
		{name: "timestamp configured, missing, body alone signed", cfg: stamped, headers: map[string]string{"X-Grafana-Alerting-Signature": sign("key", body)}, wantErr: true},
		{name: "own MaxSkew", cfg: tight, headers: map[string]string{"X-Ts": ts(-5 * time.Second), "X-Grafana-Alerting-Signature": sign("key", ts(-5*time.Second)+":"+body)}},
		{name: "beyond own MaxSkew", cfg: tight, headers: map[string]string{"X-Ts": ts(-20 * time.Second), "X-Grafana-Alerting-Signature": sign("key", ts(-20*time.Second)+":"+body)}, wantErr: true},
	})
}

func TestCheckGitHub(t *testing.T) {
	t.Parallel()
	cfg := Config{GitHubSecret: secret.New("gh")}
	runChecks(t, []checkCase{
		{name: "sha256= prefix and signature", cfg: cfg, headers: map[string]string{"X-Hub-Signature-256": "sha256=" + sign("gh", body)}},
		{name: "signature without prefix", cfg: cfg, headers: map[string]string{"X-Hub-Signature-256": sign("gh", body)}, wantErr: true},
		{name: "sha1= prefix", cfg: cfg, headers: map[string]string{"X-Hub-Signature-256": "sha1=" + sign("gh", body)}, wantErr: true},
		{name: "wrong secret", cfg: cfg, headers: map[string]string{"X-Hub-Signature-256": "sha256=" + sign("GH", body)}, wantErr: true},
		{name: "prefix only", cfg: cfg, headers: map[string]string{"X-Hub-Signature-256": "sha256="}, wantErr: true},
		{name: "missing header", cfg: cfg, wantErr: true},
	})
}

func TestCheckGitLab(t *testing.T) {
	t.Parallel()
	cfg := Config{GitLabToken: secret.New("gl")}
	runChecks(t, []checkCase{
		{name: "right token", cfg: cfg, headers: map[string]string{"X-Gitlab-Token": "gl"}},
		{name: "wrong token", cfg: cfg, headers: map[string]string{"X-Gitlab-Token": "gL"}, wantErr: true},
		{name: "token as bearer", cfg: cfg, headers: map[string]string{"Authorization": "Bearer gl"}, wantErr: true},
		{name: "missing header", cfg: cfg, wantErr: true},
	})
}

func TestCheckAnyMethodPasses(t *testing.T) {
	t.Parallel()
	cfg := Config{
		Bearer:       secret.New("tok"),
		GitHubSecret: secret.New("gh"),
		GitLabToken:  secret.New("gl"),
	}
	runChecks(t, []checkCase{
		{name: "bearer passes", cfg: cfg, headers: map[string]string{"Authorization": "Bearer tok"}},
		{name: "github passes", cfg: cfg, headers: map[string]string{"X-Hub-Signature-256": "sha256=" + sign("gh", body)}},
		{name: "gitlab passes, wrong bearer too", cfg: cfg, headers: map[string]string{"X-Gitlab-Token": "gl", "Authorization": "Bearer nope"}},
		{name: "every method fails", cfg: cfg, headers: map[string]string{"X-Gitlab-Token": "x", "Authorization": "Bearer y"}, wantErr: true},
		{name: "nothing sent", cfg: cfg, wantErr: true},
	})
}

// TestErrorNeverShowsSecrets checks that the refusal reason names neither
// the expected credentials nor what the client sent.
func TestErrorNeverShowsSecrets(t *testing.T) {
	t.Parallel()
	cfg := Config{
		Bearer:        secret.New("expected-bearer"),
		BasicUser:     "am",
		BasicPassword: secret.New("expected-password"),
		GrafanaHMAC:   &GrafanaHMAC{Secret: secret.New("expected-hmac"), TimestampHeader: "X-Ts"},
		GitHubSecret:  secret.New("expected-github"),
		GitLabToken:   secret.New("expected-gitlab"),
	}
	r := request(map[string]string{
		"Authorization":                "Bearer sent-bearer",
		"X-Gitlab-Token":               "sent-gitlab",
		"X-Hub-Signature-256":          "sha256=" + sign("expected-github", "other"),
		"X-Grafana-Alerting-Signature": "abcdef",
		"X-Ts":                         "1",
	})
	err := Check(cfg, r, []byte(body), now)
	if err == nil {
		t.Fatal("got nil, want a refusal")
	}
	for _, s := range []string{"expected-", "sent-", sign("expected-github", "other"), sign("expected-github", body)} {
		if strings.Contains(err.Error(), s) {
			t.Errorf("error %q shows %q", err, s)
		}
	}
}
