package config

import (
	"errors"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"

	"github.com/relayhq/relay/internal/auth"
	"github.com/relayhq/relay/internal/secret"
	"github.com/relayhq/relay/internal/senders"
)

// Config is the resolved runtime configuration: the built-in senders from
// the environment plus the routes file's, the routes, and the global auth.
// It is immutable once built; a reload builds a new one.
type Config struct {
	// Senders by name: the routes file's, and every kind's built-in sender
	// that the environment configures (all of them in dry-run).
	Senders map[string]*senders.Config
	// Routes by name.
	Routes map[string]*Route
	// Kinds are the sender kinds, by name.
	Kinds Kinds
	// Templates are the custom template directories, files and globs, in
	// load order (templates.Files); none for none.
	Templates []string
	// DryRun prints messages instead of posting them.
	DryRun bool
	// Auth is the global inbound auth, from RELAY_AUTH_TOKEN.
	Auth auth.Config

	// EnvSecrets are the credentials from the environment, for Secrets.
	// (Exported so that %#v prints them through secret.Secret's methods.)
	EnvSecrets []secret.Secret

	dryRunReason string
	// missing says, by kind, what configures its built-in sender.
	missing map[string]string
}

// Build returns the runtime configuration for env and the routes file
// (nil when there is none). senv is the environment the kinds read their
// built-in senders from. A target naming a built-in sender that the
// environment does not configure is an error, except in dry-run.
func Build(env Env, file *File, kinds Kinds, senv senders.Env) (*Config, error) {
	c := &Config{
		Senders:    map[string]*senders.Config{},
		Routes:     map[string]*Route{},
		Kinds:      kinds,
		Templates:  env.Templates,
		Auth:       auth.Config{Bearer: env.AuthToken},
		EnvSecrets: env.Secrets(),
		missing:    map[string]string{},
	}
	credentials := false
	if file != nil {
		if len(c.Templates) == 0 {
			c.Templates = file.Templates
		}
		for name, s := range file.Senders {
			c.Senders[name] = s
			credentials = credentials || s.HasCredentials()
		}
	}
	names := slices.Sorted(maps.Keys(kinds))
	var errs []error
	for _, name := range names {
		b, missing, err := kinds[name].Builtin(senv, env.DryRun)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		c.missing[name] = missing
		if b != nil {
			c.Senders[name] = b
			credentials = credentials || b.HasCredentials()
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	switch {
	case env.DryRun:
		c.DryRun, c.dryRunReason = true, "RELAY_DRY_RUN is set"
	case !credentials:
		var ways []string
		for _, name := range names {
			if m := c.missing[name]; m != "" {
				ways = append(ways, m)
			}
		}
		ways = append(ways, "define a sender with its credentials in the routes file")
		c.DryRun, c.dryRunReason = true, "no sender credentials: "+strings.Join(ways, ", or ")
		for _, name := range names {
			if _, ok := c.Senders[name]; ok {
				continue
			}
			if b, _, err := kinds[name].Builtin(senv, true); err == nil && b != nil {
				c.Senders[name] = b
			}
		}
	}
	if file != nil {
		for _, name := range slices.Sorted(maps.Keys(file.Routes)) { // the same first error every time
			nr, err := c.route(file.Routes[name])
			if err != nil {
				return nil, err
			}
			c.Routes[name] = nr
		}
	}
	return c, nil
}

// route copies r, checking that every target's sender exists.
func (c *Config) route(r *Route) (*Route, error) {
	nr := &Route{Name: r.Name, Auth: r.Auth, Targets: make([]*Target, 0, len(r.Targets))}
	for _, t := range r.Targets {
		if _, ok := c.Senders[t.Sender]; !ok {
			return nil, t.at.Errorf("sender %q is not configured: %s", t.Sender, c.missingCredentials(t.Sender))
		}
		nt := *t
		nr.Targets = append(nr.Targets, &nt)
	}
	return nr, nil
}

// missingCredentials says what enables a built-in sender.
func (c *Config) missingCredentials(name string) string {
	if m := c.missing[name]; m != "" {
		return m
	}
	return "define it under senders"
}

// DryRunReason returns why the relay runs in dry-run, or "" when it posts.
func (c *Config) DryRunReason() string { return c.dryRunReason }

// ErrUnknownKind is returned by DirectTarget for a kind relay does not have,
// or one that takes no direct URLs.
var ErrUnknownKind = errors.New("unknown sender kind")

// DirectTarget returns the target of a direct URL such as
// /v1/{source}/{kind}/{dest}: kind's built-in sender, which must be
// configured, to the destination dest (and query q) names. A bad
// destination is a *senders.DestinationError.
func (c *Config) DirectTarget(kind, dest string, q url.Values, template string) (*Target, error) {
	k, ok := c.Kinds[kind]
	if !ok {
		return nil, fmt.Errorf("%w %.32q", ErrUnknownKind, kind)
	}
	spec, err := k.Direct(dest, q)
	if errors.Is(err, senders.ErrNoDirect) {
		return nil, fmt.Errorf("%w %q: it takes no direct URLs; define a route", ErrUnknownKind, kind)
	}
	if err != nil {
		return nil, err
	}
	if _, ok := c.Senders[kind]; !ok {
		return nil, fmt.Errorf("sender %s is not configured: %s", kind, c.missingCredentials(kind))
	}
	return &Target{Sender: kind, Kind: k, Template: template, Dest: spec}, nil
}

// String summarises the configuration without any credential.
func (c *Config) String() string {
	return fmt.Sprintf("config{senders: %v, routes: %v, templates: %q, dry_run: %t}",
		slices.Sorted(maps.Keys(c.Senders)), slices.Sorted(maps.Keys(c.Routes)), c.Templates, c.DryRun)
}

// Secrets returns every credential of the configuration and of env (sender
// credentials, inbound auth, the admin token, the store URL and its
// password), for the secret.Scrubber that keeps them out of logs, errors
// and dead letters.
func (c *Config) Secrets() []secret.Secret {
	s := append(slices.Clone(c.EnvSecrets), c.Auth.Secrets()...)
	for _, name := range slices.Sorted(maps.Keys(c.Senders)) {
		s = append(s, c.Senders[name].Secrets...)
	}
	for _, name := range slices.Sorted(maps.Keys(c.Routes)) {
		if a := c.Routes[name].Auth; a != nil {
			s = append(s, a.Secrets()...)
		}
	}
	return s
}

// Secrets returns the credentials of env, with the store URL's password on
// its own (an error may quote it without the rest of the URL).
func (env Env) Secrets() []secret.Secret {
	s := []secret.Secret{env.Store, env.AuthToken, env.AdminToken}
	if u, err := url.Parse(env.Store.Reveal()); err == nil && u.User != nil {
		if pw, ok := u.User.Password(); ok {
			s = append(s, secret.New(pw))
		}
	}
	return s
}
