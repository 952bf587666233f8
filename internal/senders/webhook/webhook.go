// Package webhook is the generic webhook sender kind: it POSTs each message
// as the whole request body to one HTTP endpoint, a Slack, Mattermost or
// Rocket.Chat incoming webhook, a Teams workflow, or an internal system.
// The built-in templates' message goes as {"text": "<message>"}; a custom
// template renders the body itself. The endpoint's URL is a secret (it is
// the credential of Slack-style webhooks): it is sent and nowhere else
// written, not in errors, logs or limiter keys.
//
// A Sender makes exactly one request per call and classifies its outcome
// (2xx delivered; 429 rate limited; 408 and 5xx retried; any other status,
// redirects included, permanent); it never retries or sleeps.
package webhook

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/relayhq/relay/internal/delivery"
	"github.com/relayhq/relay/internal/secret"
	"github.com/relayhq/relay/internal/senders"
	"github.com/relayhq/relay/internal/senders/internal/upstream"
)

// SignatureHeader carries the body's signature when a sender has an HMAC
// secret: sha256=<lowercase hex HMAC-SHA256 of the exact body>.
const SignatureHeader = "X-Relay-Signature"

// DefaultContentType is the Content-Type of a sender without content_type.
const DefaultContentType = "application/json"

// Config configures one webhook sender.
type Config struct {
	// Name is the sender's name in the routes file. The Sender does not use
	// it; the logger passed to New is expected to carry it.
	Name string
	// URL is the endpoint, a credential in itself.
	URL secret.Secret
	// Headers are sent as they are, on every request.
	Headers http.Header
	// SecretHeaders are headers whose values are credentials, by canonical
	// name.
	SecretHeaders map[string]secret.Secret
	// HMACSecret, if set, signs every body in SignatureHeader.
	HMACSecret secret.Secret
	// ContentType is the body's media type; "" means DefaultContentType.
	ContentType string
	// Scrub removes every configured credential from upstream answers
	// before they reach a log, an error or a dead letter; nil removes only
	// this sender's.
	Scrub *secret.Scrubber
}

// secrets are the credentials of c, for Config.Secrets and the Scrubber:
// the URL, its request target (path and query, where Slack, Mattermost and
// Teams keep the token, and what a proxy's error page may echo), the
// secret headers and the HMAC key.
func (c Config) secrets() []secret.Secret {
	s := []secret.Secret{c.URL}
	if u, err := url.Parse(c.URL.Reveal()); err == nil && u.RequestURI() != "/" {
		s = append(s, secret.New(u.RequestURI()))
	}
	for _, name := range slices.Sorted(maps.Keys(c.SecretHeaders)) {
		s = append(s, c.SecretHeaders[name])
	}
	if c.HMACSecret.IsSet() {
		s = append(s, c.HMACSecret)
	}
	return s
}

// Sender posts to one webhook endpoint. It is safe for concurrent use.
type Sender struct {
	cfg Config
	// origin is the URL's scheme and host, all that an error may show.
	origin string
	client *http.Client
	logger *zap.Logger
	now    func() time.Time
}

var _ senders.Poster = (*Sender)(nil)

// New returns a Sender for cfg. It checks the URL and the headers; it does
// not contact the endpoint. The client's redirects are not followed: a
// redirected POST turns into a GET on most statuses and would carry the
// secret headers to another host, so a 3xx is a permanent failure that
// says the URL needs fixing.
func New(cfg Config, client *http.Client, logger *zap.Logger) (*Sender, error) {
	raw := cfg.URL.Reveal()
	if raw == "" {
		return nil, errors.New("webhook: URL is empty")
	}
	if err := checkURL(raw); err != nil {
		return nil, fmt.Errorf("webhook: %w", err)
	}
	u, _ := url.Parse(raw)
	for name, vs := range cfg.Headers {
		for _, v := range vs {
			if err := checkHeader(name, v); err != nil {
				return nil, fmt.Errorf("webhook: %w", err)
			}
		}
	}
	for name, v := range cfg.SecretHeaders {
		if err := checkHeader(name, v.Reveal()); err != nil {
			return nil, fmt.Errorf("webhook: %w", err)
		}
	}
	if cfg.ContentType == "" {
		cfg.ContentType = DefaultContentType
	}
	if client == nil {
		client = http.DefaultClient
	}
	c := *client
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	if logger == nil {
		logger = zap.NewNop()
	}
	if cfg.Scrub == nil {
		cfg.Scrub = secret.NewScrubber(cfg.secrets()...)
	}
	return &Sender{cfg: cfg, origin: u.Scheme + "://" + u.Host, client: &c, logger: logger, now: time.Now}, nil
}

// Send posts body as it is to the endpoint; dest's address is unused (a
// webhook sender has one destination). An empty body fails as Permanent
// without a request.
func (s *Sender) Send(ctx context.Context, _ delivery.Destination, body string) (delivery.Receipt, error) {
	if body == "" {
		return delivery.Receipt{}, &delivery.Error{Class: delivery.Permanent, Reason: "empty_body"}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.cfg.URL.Reveal(), strings.NewReader(body))
	if err != nil {
		// The error would quote the URL; New has checked it, so this is
		// a bug, not the configuration.
		return delivery.Receipt{}, &delivery.Error{Class: delivery.Permanent, Reason: "bad_request",
			Err: errors.New("build request to " + s.origin)}
	}
	for name, vs := range s.cfg.Headers {
		for _, v := range vs {
			req.Header.Add(name, v)
		}
	}
	for name, v := range s.cfg.SecretHeaders {
		req.Header.Set(name, v.Reveal())
	}
	req.Header.Set("Content-Type", s.cfg.ContentType)
	if s.cfg.HMACSecret.IsSet() {
		req.Header.Set(SignatureHeader, Sign(s.cfg.HMACSecret, []byte(body)))
	}

	resp, err := s.client.Do(req)
	if err != nil {
		return delivery.Receipt{}, upstream.TransportError(ctx, fmt.Errorf("post to webhook: %w", s.redact(err)))
	}
	answer, readErr := upstream.ReadAnswer(resp)
	s.logger.Debug("webhook answered", zap.Int("status", resp.StatusCode))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return delivery.Receipt{}, upstream.StatusError(resp, s.cfg.Scrub.Scrub(string(answer)), s.now())
	}
	if readErr != nil {
		s.logger.Debug("webhook accepted a message but its answer was cut short", zap.Error(readErr))
	}
	return delivery.Receipt{}, nil
}

// redact replaces the URL of a *url.Error, which holds the whole secret
// URL, by the endpoint's scheme and host.
func (s *Sender) redact(err error) error {
	var ue *url.Error
	if !errors.As(err, &ue) {
		return err
	}
	return &url.Error{Op: ue.Op, URL: s.origin, Err: ue.Err}
}

// Sign returns the SignatureHeader value of body under key:
// sha256=<lowercase hex HMAC-SHA256>. A receiver recomputes it over the
// bytes it received and compares in constant time.
func Sign(key secret.Secret, body []byte) string {
	m := hmac.New(sha256.New, []byte(key.Reveal()))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}
