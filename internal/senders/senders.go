// Package senders is the plug-in interface of sender kinds. A kind (each
// package below this one) owns
// everything about one upstream protocol: the options it takes on a sender
// and on a target, its defaults, its notation and default templates, how a
// direct URL names a destination, how it classifies failures, and its
// constructor. It reaches the rest of relay only through Kind; cmd/relay
// holds the one list of kinds, and no other package names one.
package senders

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"time"

	"go.uber.org/zap"

	"github.com/relayhq/relay/internal/alert"
	"github.com/relayhq/relay/internal/confyaml"
	"github.com/relayhq/relay/internal/delivery"
	"github.com/relayhq/relay/internal/secret"
	"github.com/relayhq/relay/internal/templates"
)

// Kind is one upstream protocol.
type Kind interface {
	// Name is the kind's type: in the routes file, and the name of its
	// built-in sender and of its direct URLs (/v1/{source}/{kind}/{dest}).
	Name() string
	// Defaults are the settings of a sender of the kind that the routes
	// file does not change.
	Defaults() Settings
	// Notation is how the kind's messages are written.
	Notation() templates.Notation
	// Templates are the kind's embedded default templates; nil for none
	// (the kind renders with the shared text templates).
	Templates() fs.FS
	// Sender builds a sender from one senders: entry: n holds the entry's
	// keys other than the common ones (type, limits, max_chars,
	// separator), s the settings with the common keys applied.
	Sender(name string, s Settings, n confyaml.Node, src confyaml.Source) (*Config, error)
	// Builtin returns the kind's built-in sender, configured by the
	// environment; nil when the environment does not configure it, with
	// what would ("set RELAY_X_TOKEN"). In dry-run a kind may
	// return its built-in sender without credentials, so that routes
	// naming it can be tried.
	Builtin(env Env, dryRun bool) (c *Config, missing string, err error)
	// Target decodes a target of a sender of the kind: n holds the
	// target's keys other than sender, template and matchers.
	Target(n confyaml.Node) (Target, error)
	// Direct returns the target of a direct URL; dest is its last path
	// segment. A bad destination is a *DestinationError; ErrNoDirect when
	// the kind takes no direct URLs.
	Direct(dest string, q url.Values) (Target, error)
	// New returns the poster that sends c's messages.
	New(c *Config, rt Runtime) (Poster, error)
}

// Describer is implemented by kinds that can say in words where an address
// is ("room 42"), for the dry-run console.
type Describer interface {
	Describe(address string) string
}

// ErrNoDirect is returned by Kind.Direct for kinds without direct URLs.
var ErrNoDirect = errors.New("this sender kind takes no direct URLs")

// DestinationError says why a direct URL's destination (a room id, a
// panel, users) cannot be delivered to: bad input, shown to the client.
type DestinationError struct {
	Reason string
}

func (e *DestinationError) Error() string { return "direct target: " + e.Reason }

// Settings are how a sender is paced and how its messages are sized and
// folded, whatever its kind.
type Settings struct {
	// Destination limits posts per destination (a room: 10 per 10 s); the
	// zero Limit means none. LimitName is its key under limits: in the
	// routes file: "destination", or "room" for a kind whose users say so.
	Destination Limit
	LimitName   string
	// Token limits requests per credential (300 per 5 min, say).
	Token Limit
	// Margin is added to every window, so that clock skew and latency never
	// let a post in early.
	Margin time.Duration
	// MaxChars is the longest message, as delivery.Len counts it; longer
	// ones are split. 0 means no limit. MaxCharsCap, if set, is the most
	// the upstream accepts, which max_chars may not exceed.
	MaxChars    int
	MaxCharsCap int
	// Separator goes between messages folded into one post. Fold is
	// whether the kind's posts may carry several messages at all.
	Separator string
	Fold      bool
	// RateLimitPause is how long a destination waits after a 429 that did
	// not say how long; 0 means the retry backoff.
	RateLimitPause time.Duration
}

// Limit is at most Count posts in any window of length Per.
type Limit struct {
	Count int
	Per   time.Duration
}

// Enabled reports whether the limit applies.
func (l Limit) Enabled() bool { return l.Count > 0 && l.Per > 0 }

// Config is one configured sender.
type Config struct {
	Name string
	Kind Kind
	Settings
	// Scope names the destination limits: a destination's limiter key is
	// Scope + "/" + its address. A kind whose rooms have a limit of their
	// own names the scope after itself: a room's limit is the room's,
	// whichever token posts.
	Scope string
	// TokenKey names the credential's limiter key without revealing it
	// (see TokenKey); "" for a sender without one.
	TokenKey string
	// Host is the upstream host, the key of the bound on posts in flight
	// per host; "" for none.
	Host string
	// Secrets are the sender's credentials, kept out of every log line.
	Secrets []secret.Secret
	// Options is what the kind decoded; only the kind reads it.
	Options any
}

// HasCredentials reports whether the sender holds a credential.
func (c *Config) HasCredentials() bool {
	for _, s := range c.Secrets {
		if s.IsSet() {
			return true
		}
	}
	return false
}

// Target is a target's destination as its kind decoded it.
type Target interface {
	// Resolve returns where the notification d goes (the Destination's
	// Address) and the prefix of its message (mentions).
	Resolve(d *alert.Data) (address, prefix string)
}

// Follows is implemented by a Target whose destination follows a
// notification group (edits the firing message on resolve, makes a task):
// it says, for each message rendered for the notification, what the kind's
// poster needs to do so (delivery.Message.Follow and Solo). The poster
// carries it out as the dispatcher's Follower. Intake asks only for
// notifications of a group (d.GroupKey not empty).
type Follows interface {
	// Follow returns the Follow and Solo of message part (0-based) of the
	// parts rendered for d; now is when the notification was accepted.
	Follow(d *alert.Data, part, parts int, now time.Time) (follow string, solo bool)
}

// Poster sends one message to one destination. It makes one upstream
// request, classifies every failure as a *delivery.Error, and never
// retries or sleeps.
type Poster interface {
	Send(ctx context.Context, dest delivery.Destination, body string) (delivery.Receipt, error)
}

// Runtime is what a poster is built with.
type Runtime struct {
	Client *http.Client
	Logger *zap.Logger
	// Scrub removes every configured credential from upstream answers.
	Scrub *secret.Scrubber
}

// Env is the process environment, for built-in senders.
type Env struct {
	Getenv   func(string) string
	ReadFile func(string) ([]byte, error)
}

// Secret reads the credential in the variable name, or in the file that
// name+"_FILE" names; setting both is an error. Errors name the variables,
// never the value.
func (e Env) Secret(name string) (secret.Secret, error) {
	v, path := e.Getenv(name), e.Getenv(name+"_FILE")
	switch {
	case v != "" && path != "":
		return secret.Secret{}, fmt.Errorf("%s and %s_FILE are both set; set one", name, name)
	case path != "":
		s, err := confyaml.ReadSecretFile(e.ReadFile, path)
		if err != nil {
			return secret.Secret{}, fmt.Errorf("%s_FILE: %w", name, err)
		}
		return s, nil
	}
	return secret.New(v), nil
}

// TokenKey returns the limiter key of a credential: kind/token/ and the
// first 12 hex digits of sha256(url NUL token), so that senders with the
// same URL and token share a limit and the key reveals neither.
func TokenKey(kind, url string, token secret.Secret) string {
	sum := sha256.Sum256([]byte(url + "\x00" + token.Reveal()))
	return kind + "/token/" + hex.EncodeToString(sum[:])[:12]
}

// HostOf returns the host of an upstream URL, "" when it has none.
func HostOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return u.Host
}

// CheckHTTPURL accepts an absolute http or https URL without credentials.
// The error never repeats the URL, which may be a secret (a webhook URL).
func CheckHTTPURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("parse URL: %w", err)
	}
	if u.User != nil {
		return errors.New("credentials in the URL are not allowed; use the token variable")
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errors.New("want an absolute http(s) URL")
	}
	return nil
}

// TokenKeys are a sender's token_env and token_file keys, for a kind's
// options to embed inline.
type TokenKeys struct {
	TokenEnv  confyaml.String `yaml:"token_env"`
	TokenFile confyaml.String `yaml:"token_file"`
}

// Token reads the token the keys name; n is the sender's entry, kind names
// the kind in the error of a sender without one.
func (t TokenKeys) Token(n confyaml.Node, src confyaml.Source, kind string) (secret.Secret, error) {
	tok, ok, err := src.Secret(n, "token", string(t.TokenEnv), string(t.TokenFile))
	if err != nil {
		return tok, err
	}
	if !ok {
		return tok, n.Errorf("token_env or token_file is required for a %s sender", kind)
	}
	return tok, nil
}

// TokenSender returns the configuration of a sender of kind k that posts to
// url with tok: its destinations' limits scoped to the kind, its token's
// limit keyed by TokenKey, and the token kept out of every log line.
func TokenSender(name string, k Kind, s Settings, url string, tok secret.Secret, options any) *Config {
	return &Config{
		Name: name, Kind: k, Settings: s, Scope: k.Name(),
		TokenKey: TokenKey(k.Name(), url, tok),
		Host:     HostOf(url),
		Secrets:  []secret.Secret{tok},
		Options:  options,
	}
}
