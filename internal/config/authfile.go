package config

import (
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/relayhq/relay/internal/auth"
)

// Grafana's webhook signature headers and the default timestamp skew.
const (
	grafanaSignatureHeader = "X-Grafana-Alerting-Signature"
	defaultMaxSkew         = 5 * time.Minute
)

// auth parses a route's auth: block. A block that configures no method is
// an error: it would let every request in, silently overriding
// RELAY_AUTH_TOKEN.
func (p *parser) auth(at pos, n *yaml.Node) (*auth.Config, error) {
	o, err := mapping(at, n, "bearer_token_env", "bearer_token_file", "basic", "grafana_hmac",
		"github_secret_env", "github_secret_file", "gitlab_token_env", "gitlab_token_file")
	if err != nil {
		return nil, err
	}
	c := &auth.Config{}
	if c.Bearer, _, err = p.secret(o, "bearer_token"); err != nil {
		return nil, err
	}
	if c.GitHubSecret, _, err = p.secret(o, "github_secret"); err != nil {
		return nil, err
	}
	if c.GitLabToken, _, err = p.secret(o, "gitlab_token"); err != nil {
		return nil, err
	}
	if o.has("basic") {
		b, err := mapping(o.pos("basic"), o.values["basic"], "username", "password_env", "password_file")
		if err != nil {
			return nil, err
		}
		if c.BasicUser, err = b.str("username"); err != nil {
			return nil, err
		}
		var ok bool
		if c.BasicPassword, ok, err = p.secret(b, "password"); err != nil {
			return nil, err
		}
		if c.BasicUser == "" || !ok {
			return nil, b.at.errorf("basic auth needs username and password_env or password_file")
		}
	}
	if o.has("grafana_hmac") {
		if c.GrafanaHMAC, err = p.grafanaHMAC(o.pos("grafana_hmac"), o.values["grafana_hmac"]); err != nil {
			return nil, err
		}
	}
	if !c.Enabled() {
		return nil, at.errorf("auth configures no method; remove it to use RELAY_AUTH_TOKEN")
	}
	return c, nil
}

func (p *parser) grafanaHMAC(at pos, n *yaml.Node) (*auth.GrafanaHMAC, error) {
	o, err := mapping(at, n, "secret_env", "secret_file", "header", "timestamp_header", "max_skew")
	if err != nil {
		return nil, err
	}
	h := &auth.GrafanaHMAC{Header: grafanaSignatureHeader, MaxSkew: defaultMaxSkew}
	var ok bool
	if h.Secret, ok, err = p.secret(o, "secret"); err != nil {
		return nil, err
	}
	if !ok {
		return nil, at.errorf("grafana_hmac needs secret_env or secret_file")
	}
	if v, err := o.str("header"); err != nil {
		return nil, err
	} else if v != "" {
		h.Header = v
	}
	if h.TimestampHeader, err = o.str("timestamp_header"); err != nil {
		return nil, err
	}
	if d, ok, err := o.duration("max_skew"); err != nil {
		return nil, err
	} else if ok {
		if d <= 0 {
			return nil, o.pos("max_skew").errorf("max_skew must be positive")
		}
		h.MaxSkew = d
	}
	return h, nil
}
