package config

import (
	"time"

	"github.com/relayhq/relay/internal/auth"
	"github.com/relayhq/relay/internal/confyaml"
)

// Grafana's webhook signature headers and the default timestamp skew.
const (
	grafanaSignatureHeader = "X-Grafana-Alerting-Signature"
	defaultMaxSkew         = 5 * time.Minute
)

// authDoc is a route's auth: block.
type authDoc struct {
	BearerTokenEnv  confyaml.String `yaml:"bearer_token_env"`
	BearerTokenFile confyaml.String `yaml:"bearer_token_file"`
	Basic           *struct {
		Username     confyaml.String `yaml:"username"`
		PasswordEnv  confyaml.String `yaml:"password_env"`
		PasswordFile confyaml.String `yaml:"password_file"`
	} `yaml:"basic"`
	GrafanaHMAC *struct {
		SecretEnv       confyaml.String    `yaml:"secret_env"`
		SecretFile      confyaml.String    `yaml:"secret_file"`
		Header          confyaml.String    `yaml:"header"`
		TimestampHeader confyaml.String    `yaml:"timestamp_header"`
		MaxSkew         *confyaml.Duration `yaml:"max_skew"`
	} `yaml:"grafana_hmac"`
	GitHubSecretEnv  confyaml.String `yaml:"github_secret_env"`
	GitHubSecretFile confyaml.String `yaml:"github_secret_file"`
	GitLabTokenEnv   confyaml.String `yaml:"gitlab_token_env"`
	GitLabTokenFile  confyaml.String `yaml:"gitlab_token_file"`
}

// auth parses a route's auth: block. A block that configures no method is
// an error: it would let every request in, silently overriding
// RELAY_AUTH_TOKEN.
func (p *parser) auth(n confyaml.Node) (*auth.Config, error) {
	var a authDoc
	if err := n.Decode(&a); err != nil {
		return nil, err
	}
	c := &auth.Config{}
	var err error
	if c.Bearer, _, err = p.src.Secret(n, "bearer_token", string(a.BearerTokenEnv), string(a.BearerTokenFile)); err != nil {
		return nil, err
	}
	if c.GitHubSecret, _, err = p.src.Secret(n, "github_secret", string(a.GitHubSecretEnv), string(a.GitHubSecretFile)); err != nil {
		return nil, err
	}
	if c.GitLabToken, _, err = p.src.Secret(n, "gitlab_token", string(a.GitLabTokenEnv), string(a.GitLabTokenFile)); err != nil {
		return nil, err
	}
	if b := a.Basic; b != nil {
		bn := n.At("basic")
		var ok bool
		if c.BasicPassword, ok, err = p.src.Secret(bn, "password", string(b.PasswordEnv), string(b.PasswordFile)); err != nil {
			return nil, err
		}
		c.BasicUser = string(b.Username)
		if c.BasicUser == "" || !ok {
			return nil, bn.Errorf("basic auth needs username and password_env or password_file")
		}
	}
	if g := a.GrafanaHMAC; g != nil {
		gn := n.At("grafana_hmac")
		h := &auth.GrafanaHMAC{Header: grafanaSignatureHeader, MaxSkew: defaultMaxSkew, TimestampHeader: string(g.TimestampHeader)}
		var ok bool
		if h.Secret, ok, err = p.src.Secret(gn, "secret", string(g.SecretEnv), string(g.SecretFile)); err != nil {
			return nil, err
		}
		if !ok {
			return nil, gn.Errorf("grafana_hmac needs secret_env or secret_file")
		}
		if g.Header != "" {
			h.Header = string(g.Header)
		}
		if g.MaxSkew != nil {
			if *g.MaxSkew <= 0 {
				return nil, gn.At("max_skew").Errorf("max_skew must be positive")
			}
			h.MaxSkew = time.Duration(*g.MaxSkew)
		}
		c.GrafanaHMAC = h
	}
	if !c.Enabled() {
		return nil, n.Errorf("auth configures no method; remove it to use RELAY_AUTH_TOKEN")
	}
	return c, nil
}
