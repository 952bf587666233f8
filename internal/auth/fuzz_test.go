package auth

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/relayhq/relay/internal/secret"
)

// FuzzCheck feeds arbitrary credentials, timestamps and bodies to every
// method at once; Check must never panic, and must refuse what it cannot
// verify.
func FuzzCheck(f *testing.F) {
	f.Add("Bearer tok", "sha256="+sign("gh", "{}"), sign("key", "1:{}"), "1", "gl", []byte("{}"), int64(1))
	f.Add("Basic !!", "sha256=", "", "-9223372036854775808", "", []byte(nil), int64(0))
	f.Add("", "sha256=zz", "zz", "9223372036854775807", "x", []byte("\x00"), int64(-1))
	cfg := Config{
		Bearer:        secret.New("tok"),
		BasicUser:     "am",
		BasicPassword: secret.New("pw"),
		GrafanaHMAC:   &GrafanaHMAC{Secret: secret.New("key"), TimestampHeader: "X-Ts"},
		GitHubSecret:  secret.New("gh"),
		GitLabToken:   secret.New("gl"),
	}
	f.Fuzz(func(t *testing.T, authz, hub, grafana, ts, gitlab string, body []byte, nowSec int64) {
		r := httptest.NewRequest(http.MethodPost, "/", nil)
		r.Header = http.Header{
			"Authorization":                {authz},
			"X-Hub-Signature-256":          {hub},
			"X-Grafana-Alerting-Signature": {grafana},
			"X-Ts":                         {ts},
			"X-Gitlab-Token":               {gitlab},
		}
		err := Check(cfg, r, body, time.Unix(nowSec, 0))
		if err == nil && authz == "" && gitlab == "" && hub == "" && grafana == "" {
			t.Fatal("let a request without any credential in")
		}
	})
}
