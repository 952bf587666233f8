// Package config holds relay's configuration: the process settings read from
// RELAY_* environment variables (Env), the YAML routes file (File), and the
// runtime configuration built from both (Config) that names the senders,
// the routes and their targets, with label matchers and mentions.
//
// Credentials come only from the environment or from files; the routes file
// names where a credential is (token_env, token_file), never the credential
// itself, and every credential is held as a secret.Secret that never prints.
package config

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"go.uber.org/zap/zapcore"

	"github.com/relayhq/relay/internal/confyaml"
	"github.com/relayhq/relay/internal/secret"
)

// DefaultStore is RELAY_STORE's default.
const DefaultStore = "sqlite://./data/relay.db"

// Env is the process configuration, read by envconfig with prefix RELAY.
// Every secret has a *_FILE twin naming a file that holds it; call
// ResolveFiles and then Validate after envconfig.Process. The variables of
// the kinds' built-in senders are the kinds' own; Build has them read.
type Env struct {
	Listen string `envconfig:"LISTEN" default:":8080"`
	// Config is the path of the routes file; empty runs without one.
	Config string `envconfig:"CONFIG"`
	// Templates are custom template directories, files or globs,
	// separated by commas. They override the routes file's templates key.
	Templates []string `envconfig:"TEMPLATES"`
	// Store is the outbox URL; it may hold a database password.
	Store secret.Secret `envconfig:"STORE" default:"sqlite://./data/relay.db"`
	// AuthToken, if set, is the global inbound bearer token.
	AuthToken secret.Secret `envconfig:"AUTH_TOKEN"`
	// AdminToken guards the admin endpoints (reload, dead letters).
	AdminToken   secret.Secret `envconfig:"ADMIN_TOKEN"`
	MaxBodyBytes int64         `envconfig:"MAX_BODY_BYTES" default:"1048576"`
	DryRun       bool          `envconfig:"DRY_RUN"`
	LogLevel     string        `envconfig:"LOG_LEVEL" default:"info"`
	LogFormat    string        `envconfig:"LOG_FORMAT" default:"json"`
	DedupTTL     time.Duration `envconfig:"DEDUP_TTL" default:"5m"`
	MaxAge       time.Duration `envconfig:"MAX_AGE" default:"24h"`
	// FollowTTL is how long the outbox remembers which upstream message
	// (and task) carries a notification group on a destination, after it
	// was last written; at least MaxAge, so that a resolve queued as long
	// as a message may wait still finds its firing message.
	FollowTTL       time.Duration `envconfig:"FOLLOW_TTL" default:"168h"`
	MaxQueued       int           `envconfig:"MAX_QUEUED" default:"1000000"`
	ShutdownTimeout time.Duration `envconfig:"SHUTDOWN_TIMEOUT" default:"25s"`

	StoreFile      string `envconfig:"STORE_FILE"`
	AuthTokenFile  string `envconfig:"AUTH_TOKEN_FILE"`
	AdminTokenFile string `envconfig:"ADMIN_TOKEN_FILE"`
}

// fileTwin pairs a secret with the *_FILE variable that may hold it.
type fileTwin struct {
	name   string // the secret's variable, e.g. RELAY_AUTH_TOKEN
	secret *secret.Secret
	path   string
}

func (e *Env) twins() []fileTwin {
	return []fileTwin{
		{"RELAY_STORE", &e.Store, e.StoreFile},
		{"RELAY_AUTH_TOKEN", &e.AuthToken, e.AuthTokenFile},
		{"RELAY_ADMIN_TOKEN", &e.AdminToken, e.AdminTokenFile},
	}
}

// ResolveFiles fills each secret from its *_FILE twin, with trailing
// newlines trimmed. Setting both a secret and its twin is an error, except
// that RELAY_STORE_FILE replaces RELAY_STORE's default. Errors name the
// variables and the file, never the content.
func (e *Env) ResolveFiles(readFile func(string) ([]byte, error)) error {
	if e.StoreFile != "" && e.Store.Reveal() == DefaultStore {
		e.Store = secret.Secret{}
	}
	for _, t := range e.twins() {
		if t.path == "" {
			continue
		}
		if t.secret.IsSet() {
			return fmt.Errorf("%s and %s_FILE are both set; set one", t.name, t.name)
		}
		s, err := confyaml.ReadSecretFile(readFile, t.path)
		if err != nil {
			return fmt.Errorf("%s_FILE: %w", t.name, err)
		}
		*t.secret = s
	}
	return nil
}

// Validate checks the settings: URLs parse, sizes and durations are
// positive, the log level and format are known. Errors name the variable
// and never show a secret's value.
func (e *Env) Validate() error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if e.Listen == "" {
		add("RELAY_LISTEN: must not be empty")
	}
	if err := checkStore(e.Store); err != nil {
		add("RELAY_STORE: %w", err)
	}
	if e.MaxBodyBytes <= 0 {
		add("RELAY_MAX_BODY_BYTES: must be positive, got %d", e.MaxBodyBytes)
	}
	if e.MaxQueued <= 0 {
		add("RELAY_MAX_QUEUED: must be positive, got %d", e.MaxQueued)
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"RELAY_DEDUP_TTL", e.DedupTTL}, {"RELAY_MAX_AGE", e.MaxAge}, {"RELAY_SHUTDOWN_TIMEOUT", e.ShutdownTimeout}} {
		if d.v <= 0 {
			add("%s: must be positive, got %s", d.name, d.v)
		}
	}
	if e.FollowTTL < e.MaxAge {
		add("RELAY_FOLLOW_TTL: must be at least RELAY_MAX_AGE (%s), got %s", e.MaxAge, e.FollowTTL)
	}
	if _, err := zapcore.ParseLevel(e.LogLevel); err != nil {
		add("RELAY_LOG_LEVEL: want debug, info, warn or error, got %q", e.LogLevel)
	}
	switch e.LogFormat {
	case "json", "console", "text", "logfmt":
	default:
		add("RELAY_LOG_FORMAT: want json or console, got %q", e.LogFormat)
	}
	return errors.Join(errs...)
}

// checkStore accepts sqlite:// and postgres:// URLs. It never puts the
// value, which may hold a password, into the error.
func checkStore(s secret.Secret) error {
	scheme, rest, ok := strings.Cut(s.Reveal(), "://")
	if !ok || rest == "" {
		return errors.New("want sqlite://PATH or postgres://...")
	}
	switch scheme {
	case "sqlite", "postgres", "postgresql":
		return nil
	}
	return fmt.Errorf("unknown scheme %q: want sqlite or postgres", scheme)
}
