// Package auth checks inbound webhook credentials: bearer tokens, basic
// auth, Grafana's HMAC signature, GitHub's X-Hub-Signature-256 and GitLab's
// X-Gitlab-Token. Every comparison is constant-time.
package auth

import (
	"time"

	"github.com/relayhq/relay/internal/secret"
)

// Config is the inbound auth of one route, or the global one. A request is
// let in when any configured method accepts it; an empty Config lets every
// request in.
type Config struct {
	// Bearer is the token expected in "Authorization: Bearer <token>".
	// RELAY_AUTH_TOKEN also accepts it as the basic-auth password.
	Bearer secret.Secret
	// BasicUser and BasicPassword are expected as basic auth.
	BasicUser     string
	BasicPassword secret.Secret
	// GrafanaHMAC checks Grafana's webhook HMAC signature.
	GrafanaHMAC *GrafanaHMAC
	// GitHubSecret checks "X-Hub-Signature-256: sha256=<hex>" of the body.
	GitHubSecret secret.Secret
	// GitLabToken is compared with the X-Gitlab-Token header.
	GitLabToken secret.Secret
}

// GrafanaHMAC is Grafana's webhook contact point HMAC signature: the header
// holds the lowercase hex HMAC-SHA256 of the body, or of "timestamp:body"
// when TimestampHeader is set.
type GrafanaHMAC struct {
	Secret secret.Secret
	// Header defaults to X-Grafana-Alerting-Signature.
	Header string
	// TimestampHeader, if set, names the header with the Unix timestamp
	// (seconds) that is signed with the body.
	TimestampHeader string
	// MaxSkew is how old (or how far in the future) a timestamp may be;
	// default 5 minutes.
	MaxSkew time.Duration
}

// Enabled reports whether any method is configured.
func (c Config) Enabled() bool {
	return c.Bearer.IsSet() || c.BasicPassword.IsSet() || c.GrafanaHMAC != nil ||
		c.GitHubSecret.IsSet() || c.GitLabToken.IsSet()
}

// Secrets returns every credential c holds, for a secret.Scrubber.
func (c Config) Secrets() []secret.Secret {
	s := []secret.Secret{c.Bearer, c.BasicPassword, c.GitHubSecret, c.GitLabToken}
	if c.GrafanaHMAC != nil {
		s = append(s, c.GrafanaHMAC.Secret)
	}
	return s
}
