package auth

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strings"
	"time"

	"github.com/relayhq/relay/internal/secret"
)

// Error says why a request was refused. Its Reason is safe to show the
// client and to log: it never holds a credential, the expected value, or
// what the client sent.
type Error struct {
	Reason string
}

func (e *Error) Error() string { return "unauthorized: " + e.Reason }

// Check returns nil when cfg lets the request in, or an *Error saying why
// not. An empty cfg lets every request in; otherwise the request is let in
// when any configured method accepts it. body is the full request body, which
// the HMAC methods sign; now is compared with signed timestamps.
func Check(cfg Config, r *http.Request, body []byte, now time.Time) error {
	if !cfg.Enabled() {
		return nil
	}
	var reasons []string
	try := func(reason string) bool {
		if reason == "" {
			return true
		}
		reasons = append(reasons, reason)
		return false
	}
	if cfg.Bearer.IsSet() && try(checkBearer(cfg.Bearer, r)) {
		return nil
	}
	if cfg.BasicPassword.IsSet() && try(checkBasic(cfg.BasicUser, cfg.BasicPassword, r)) {
		return nil
	}
	if cfg.GrafanaHMAC != nil && try(checkGrafana(*cfg.GrafanaHMAC, r, body, now)) {
		return nil
	}
	if cfg.GitHubSecret.IsSet() && try(checkGitHub(cfg.GitHubSecret, r, body)) {
		return nil
	}
	if cfg.GitLabToken.IsSet() && try(checkGitLab(cfg.GitLabToken, r)) {
		return nil
	}
	return &Error{Reason: strings.Join(reasons, "; ")}
}

// checkBearer accepts "Authorization: Bearer <token>", and the token as the
// basic-auth password with any user name (for clients that only do basic
// auth). It returns "" when the request passes, else the reason it does not.
func checkBearer(token secret.Secret, r *http.Request) string {
	h := r.Header.Get("Authorization")
	if h == "" {
		return "no Authorization header"
	}
	if _, pass, ok := r.BasicAuth(); ok {
		if equal(pass, token.Reveal()) {
			return ""
		}
		return "wrong token"
	}
	scheme, cred, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "Authorization header is not a Bearer token"
	}
	if !equal(strings.TrimSpace(cred), token.Reveal()) {
		return "wrong bearer token"
	}
	return ""
}

// checkBasic accepts basic auth with the configured password and, when
// user is not empty, the configured user name.
func checkBasic(user string, password secret.Secret, r *http.Request) string {
	gotUser, gotPass, ok := r.BasicAuth()
	if !ok {
		return "no basic auth credentials"
	}
	userOK := user == "" || equal(gotUser, user)
	passOK := equal(gotPass, password.Reveal())
	if !userOK || !passOK {
		return "wrong basic auth user or password"
	}
	return ""
}

// checkGitLab accepts a request whose X-Gitlab-Token header holds token.
func checkGitLab(token secret.Secret, r *http.Request) string {
	got := r.Header.Get("X-Gitlab-Token")
	if got == "" {
		return "no X-Gitlab-Token header"
	}
	if !equal(got, token.Reveal()) {
		return "wrong X-Gitlab-Token"
	}
	return ""
}

// equal compares two strings in constant time. Hashing first keeps the
// comparison from revealing the expected value's length.
func equal(got, want string) bool {
	g := sha256.Sum256([]byte(got))
	w := sha256.Sum256([]byte(want))
	return subtle.ConstantTimeCompare(g[:], w[:]) == 1
}
