package webhook

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io/fs"
	"net/url"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/relayhq/relay/internal/alert"
	"github.com/relayhq/relay/internal/confyaml"
	"github.com/relayhq/relay/internal/senders"
	"github.com/relayhq/relay/internal/templates"
)

// Name is the kind's type.
const Name = "webhook"

// Kind is the webhook sender kind. It has no built-in sender (a webhook is
// nothing without its URL) and takes no direct URLs.
type Kind struct{}

var _ senders.Kind = Kind{}

// Name implements senders.Kind.
func (Kind) Name() string { return Name }

// Defaults implements senders.Kind: no limit unless limits.destination
// sets one, no message size unless max_chars sets one, and no folding: a
// post is one message, since JSON bodies do not concatenate.
func (Kind) Defaults() senders.Settings {
	return senders.Settings{LimitName: "destination"}
}

// Notation implements senders.Kind: the shared text templates write the
// message and Wrap makes it the body; a custom template writes the body.
func (Kind) Notation() templates.Notation { return templates.Notation{Wrap: Wrap} }

// Templates implements senders.Kind: none of its own.
func (Kind) Templates() fs.FS { return nil }

// Wrap returns the body of a message from the built-in templates:
// {"text": "<message>"}, which Slack, Mattermost and Rocket.Chat incoming
// webhooks take as it is. <, > and & are written as they are.
func Wrap(msg string) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(struct {
		Text string `json:"text"`
	}{msg}) // a string always encodes
	return strings.TrimSuffix(b.String(), "\n")
}

// Sender implements senders.Kind: url_env or url_file, headers,
// header_env, header_file, hmac_secret_env or hmac_secret_file, and
// content_type.
func (k Kind) Sender(name string, s senders.Settings, n confyaml.Node, src confyaml.Source) (*senders.Config, error) {
	if s.Separator != "" {
		return nil, n.Key("separator").Errorf("a webhook post carries one message, so separator does not apply")
	}
	c, err := decode(n, src)
	if err != nil {
		return nil, err
	}
	c.Name = name
	raw := c.URL.Reveal()
	return &senders.Config{
		Name: name, Kind: k, Settings: s,
		Scope:   Scope(raw),
		Host:    senders.HostOf(raw),
		Secrets: c.secrets(),
		Options: c,
	}, nil
}

// Scope is the destination-limit scope of a webhook URL without revealing
// it: webhook/url/ and the first 12 hex digits of its SHA-256, so that
// senders posting to the same URL share its limit.
func Scope(rawURL string) string {
	sum := sha256.Sum256([]byte(rawURL))
	return Name + "/url/" + hex.EncodeToString(sum[:])[:12]
}

// Builtin implements senders.Kind: there is none.
func (Kind) Builtin(senders.Env, bool) (*senders.Config, string, error) {
	return nil, "define a webhook sender under senders", nil
}

// Target implements senders.Kind: a webhook target names its sender and
// perhaps a template and matchers, nothing else; the sender's URL is its
// one destination.
func (Kind) Target(n confyaml.Node) (senders.Target, error) {
	if !n.IsNull() && n.Y.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Y.Content); i += 2 {
			if k := n.Y.Content[i]; k.Tag != "!!merge" {
				return nil, n.Key(k.Value).Errorf("unknown key: a webhook target takes sender, template and matchers; its sender's URL is where it goes")
			}
		}
	}
	var none struct{}
	if err := n.Decode(&none); err != nil {
		return nil, err
	}
	return target{}, nil
}

// Direct implements senders.Kind: none, the URL is the sender's.
func (Kind) Direct(string, url.Values) (senders.Target, error) {
	return nil, senders.ErrNoDirect
}

// New implements senders.Kind.
func (Kind) New(c *senders.Config, rt senders.Runtime) (senders.Poster, error) {
	o, _ := c.Options.(Config)
	o.Name, o.Scrub = c.Name, rt.Scrub
	return New(o, rt.Client, rt.Logger)
}

// Describe implements senders.Describer: "webhook", never the URL.
func (Kind) Describe(string) string { return Name }

// target is the sender's one destination.
type target struct{}

// Resolve implements senders.Target: no address, no prefix.
func (target) Resolve(*alert.Data) (string, string) { return "", "" }
