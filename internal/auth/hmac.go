package auth

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/relayhq/relay/internal/secret"
)

// Defaults of GrafanaHMAC.
const (
	DefaultGrafanaHeader = "X-Grafana-Alerting-Signature"
	DefaultMaxSkew       = 5 * time.Minute
)

// gitHubHeader holds GitHub's "sha256=<hex>" signature of the body.
const gitHubHeader = "X-Hub-Signature-256"

// checkGrafana accepts a request signed the way Grafana's webhook contact
// point signs it: the signature header holds the hex HMAC-SHA256 of the
// body, or of "timestamp:body" when a timestamp header is configured. A
// configured timestamp must be present and within MaxSkew of now, so a
// captured request cannot be replayed later.
func checkGrafana(g GrafanaHMAC, r *http.Request, body []byte, now time.Time) string {
	header := g.Header
	if header == "" {
		header = DefaultGrafanaHeader
	}
	sig := r.Header.Get(header)
	if sig == "" {
		return "no " + header + " header"
	}
	mac := hmac.New(sha256.New, []byte(g.Secret.Reveal()))
	if g.TimestampHeader != "" {
		ts := r.Header.Get(g.TimestampHeader)
		if ts == "" {
			return "no " + g.TimestampHeader + " header"
		}
		if reason := checkTimestamp(ts, g.MaxSkew, now); reason != "" {
			return reason
		}
		mac.Write([]byte(ts + ":"))
	}
	mac.Write(body)
	if !validHex(sig, mac.Sum(nil)) {
		return "wrong " + header + " signature"
	}
	return ""
}

// checkTimestamp accepts a Unix timestamp in seconds that is no further
// than maxSkew (default DefaultMaxSkew) from now, in either direction.
func checkTimestamp(ts string, maxSkew time.Duration, now time.Time) string {
	if maxSkew <= 0 {
		maxSkew = DefaultMaxSkew
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return "signature timestamp is not Unix seconds"
	}
	// Compare in whole seconds, as the timestamp is; no overflow for any
	// value the client sends.
	maxSec, nowSec := int64(maxSkew/time.Second), now.Unix()
	if sec < nowSec-maxSec || sec > nowSec+maxSec {
		return "signature timestamp is outside the allowed skew of " + maxSkew.String()
	}
	return ""
}

// checkGitHub accepts a request whose X-Hub-Signature-256 header is
// "sha256=" followed by the hex HMAC-SHA256 of the body, as GitHub sends it.
func checkGitHub(key secret.Secret, r *http.Request, body []byte) string {
	sig := r.Header.Get(gitHubHeader)
	if sig == "" {
		return "no " + gitHubHeader + " header"
	}
	hexSig, ok := strings.CutPrefix(sig, "sha256=")
	if !ok {
		return gitHubHeader + " does not start with sha256="
	}
	mac := hmac.New(sha256.New, []byte(key.Reveal()))
	mac.Write(body)
	if !validHex(hexSig, mac.Sum(nil)) {
		return "wrong " + gitHubHeader + " signature"
	}
	return ""
}

// validHex reports whether sig is the hex encoding of want, comparing in
// constant time. Upper-case hex is accepted as well.
func validHex(sig string, want []byte) bool {
	got, err := hex.DecodeString(sig)
	if err != nil {
		return false
	}
	return hmac.Equal(got, want)
}
