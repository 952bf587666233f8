package config

import (
	"fmt"
	"maps"
	"net/url"
	"slices"

	"github.com/relayhq/relay/internal/auth"
	"github.com/relayhq/relay/internal/delivery"
	"github.com/relayhq/relay/internal/secret"
)

// Config is the resolved runtime configuration: the built-in senders from
// the environment plus the routes file's, the routes, and the global auth.
// It is immutable once built; a reload builds a new one.
type Config struct {
	// Senders by name. chatwork exists with RELAY_CHATWORK_TOKEN,
	// chatmessenger with RELAY_CAM_URL and RELAY_CAM_TOKEN (both also in
	// dry-run), console always.
	Senders map[string]*Sender
	// Routes by name.
	Routes map[string]*Route
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
}

// Build returns the runtime configuration for env and the routes file
// (nil when there is none). A target naming a built-in sender whose
// credentials are missing is an error, except in dry-run.
func Build(env Env, file *File) (*Config, error) {
	c := &Config{
		Senders:    map[string]*Sender{},
		Routes:     map[string]*Route{},
		Templates:  env.Templates,
		Auth:       auth.Config{Bearer: env.AuthToken},
		EnvSecrets: env.Secrets(),
	}
	apiURL := env.ChatworkAPIURL
	if apiURL == "" {
		apiURL = DefaultChatworkAPIURL
	}
	credentials := false
	if file != nil {
		if len(c.Templates) == 0 {
			c.Templates = file.Templates
		}
		for name, fs := range file.Senders {
			s := *fs
			if s.Kind == delivery.KindChatwork && s.URL == "" {
				s.URL = apiURL
			}
			credentials = credentials || s.Token.IsSet()
			c.Senders[name] = &s
		}
	}
	cw := newSender(delivery.KindChatwork, delivery.KindChatwork)
	cw.URL, cw.Token = apiURL, env.ChatworkToken
	cam := newSender(delivery.KindChatMessenger, delivery.KindChatMessenger)
	cam.URL, cam.Token = env.CAMURL, env.CAMToken
	camSet := env.CAMURL != "" && env.CAMToken.IsSet()
	credentials = credentials || cw.Token.IsSet() || camSet

	switch {
	case env.DryRun:
		c.DryRun, c.dryRunReason = true, "RELAY_DRY_RUN is set"
	case !credentials:
		c.DryRun, c.dryRunReason = true, "no sender credentials: set RELAY_CHATWORK_TOKEN, "+
			"or RELAY_CAM_URL and RELAY_CAM_TOKEN, or a sender with token_env or token_file in the routes file"
	}
	if cw.Token.IsSet() || c.DryRun {
		c.Senders[cw.Name] = cw
	}
	if camSet || c.DryRun {
		c.Senders[cam.Name] = cam
	}
	c.Senders[delivery.KindConsole] = newSender(delivery.KindConsole, delivery.KindConsole)
	for _, s := range c.Senders {
		s.TokenKey = tokenKey(s.Kind, s.URL, s.Token)
	}

	if file != nil {
		for _, name := range sortedKeys(file.Routes) { // the same first error every time
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
			return nil, t.at.errorf("sender %q is not configured: %s", t.Sender, missingCredentials(t.Sender))
		}
		nt := *t
		nr.Targets = append(nr.Targets, &nt)
	}
	return nr, nil
}

// missingCredentials says what enables a built-in sender.
func missingCredentials(kind string) string {
	switch kind {
	case delivery.KindChatwork:
		return "set RELAY_CHATWORK_TOKEN"
	case delivery.KindChatMessenger:
		return "set RELAY_CAM_URL and RELAY_CAM_TOKEN"
	}
	return "define it under senders"
}

// DryRunReason returns why the relay runs in dry-run, or "" when it posts.
func (c *Config) DryRunReason() string { return c.dryRunReason }

// DirectTarget returns the target of a direct URL such as
// /v1/{source}/chatwork/{room} or /v1/{source}/chatmessenger/{panel}?users=...
// kind is the built-in sender to use; it must be configured.
func (c *Config) DirectTarget(kind, room, panel string, users []string, template string) (*Target, error) {
	if kind != delivery.KindChatwork && kind != delivery.KindChatMessenger {
		return nil, fmt.Errorf("unknown sender type %q: want chatwork or chatmessenger", kind)
	}
	if _, ok := c.Senders[kind]; !ok {
		return nil, fmt.Errorf("sender %s is not configured: %s", kind, missingCredentials(kind))
	}
	t := &Target{Sender: kind, Kind: kind, Room: room, Panel: panel,
		Users: delivery.NormalizeUsers(users), Template: template}
	if key, reason := destinationProblem(t); key != "" {
		return nil, &DestinationError{Reason: reason}
	}
	return t, nil
}

// DestinationError says why a direct target's destination (a room id, a
// panel, users) cannot be delivered to: bad input, not a missing sender.
type DestinationError struct {
	Reason string
}

func (e *DestinationError) Error() string { return "direct target: " + e.Reason }

// String summarises the configuration without any credential.
func (c *Config) String() string {
	return fmt.Sprintf("config{senders: %v, routes: %v, templates: %q, dry_run: %t}",
		sortedKeys(c.Senders), sortedKeys(c.Routes), c.Templates, c.DryRun)
}

func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}

// Secrets returns every credential of the configuration and of env (sender
// tokens, inbound auth, the admin token, the store URL and its password),
// for the secret.Scrubber that keeps them out of logs, errors and dead
// letters.
func (c *Config) Secrets() []secret.Secret {
	s := append(slices.Clone(c.EnvSecrets), c.Auth.Secrets()...)
	for _, name := range sortedKeys(c.Senders) {
		s = append(s, c.Senders[name].Token)
	}
	for _, name := range sortedKeys(c.Routes) {
		if a := c.Routes[name].Auth; a != nil {
			s = append(s, a.Secrets()...)
		}
	}
	return s
}

// Secrets returns the credentials of env, with the store URL's password on
// its own (an error may quote it without the rest of the URL).
func (env Env) Secrets() []secret.Secret {
	s := []secret.Secret{env.Store, env.ChatworkToken, env.CAMToken, env.AuthToken, env.AdminToken}
	if u, err := url.Parse(env.Store.Reveal()); err == nil && u.User != nil {
		if pw, ok := u.User.Password(); ok {
			s = append(s, secret.New(pw))
		}
	}
	return s
}
