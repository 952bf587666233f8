package chatmessenger

import (
	"fmt"
	"io/fs"
	"net/url"
	"slices"
	"strings"

	"github.com/relayhq/relay/internal/alert"
	"github.com/relayhq/relay/internal/confyaml"
	"github.com/relayhq/relay/internal/secret"
	"github.com/relayhq/relay/internal/senders"
	"github.com/relayhq/relay/internal/templates"
)

// Name is the kind's type.
const Name = "chatmessenger"

// Environment variables of the built-in chatmessenger sender.
const (
	EnvURL   = "RELAY_CAM_URL"
	EnvToken = "RELAY_CAM_TOKEN" // or RELAY_CAM_TOKEN_FILE
)

// PanelMessenger is the panel that means "direct message to the users".
const PanelMessenger = "messenger"

// MaxChars is the message size relay keeps to: Chat&Messenger documents
// none, and its clients show 30,000 characters well.
const MaxChars = 30000

// Kind is the chatmessenger sender kind.
type Kind struct{}

var _ senders.Kind = Kind{}

// Name implements senders.Kind.
func (Kind) Name() string { return Name }

// Defaults implements senders.Kind. Chat&Messenger documents no post limit;
// its 491 (too many requests) says no wait, so a destination waits out the
// retry backoff.
func (Kind) Defaults() senders.Settings {
	return senders.Settings{
		LimitName: "destination",
		MaxChars:  MaxChars,
		Separator: "\n\n――――――――\n\n",
		Fold:      true,
	}
}

// Notation implements senders.Kind: plain text, the shared text templates.
func (Kind) Notation() templates.Notation { return templates.Notation{} }

// Templates implements senders.Kind: none of its own.
func (Kind) Templates() fs.FS { return nil }

type options struct {
	URL   string
	Token secret.Secret
}

type senderOptions struct {
	URL               confyaml.String `yaml:"url"`
	senders.TokenKeys `yaml:",inline"`
}

// Sender implements senders.Kind: url (the serverURL) and the token.
func (k Kind) Sender(name string, s senders.Settings, n confyaml.Node, src confyaml.Source) (*senders.Config, error) {
	var o senderOptions
	if err := n.Decode(&o); err != nil {
		return nil, err
	}
	if o.URL == "" {
		return nil, n.Errorf("url is required for a chatmessenger sender")
	}
	if err := senders.CheckHTTPURL(string(o.URL)); err != nil {
		return nil, n.At("url").Errorf("%v, got %q", err, o.URL)
	}
	tok, err := o.Token(n, src, Name)
	if err != nil {
		return nil, err
	}
	return senders.TokenSender(name, k, s, string(o.URL), tok, options{URL: string(o.URL), Token: tok}), nil
}

// Builtin implements senders.Kind: the chatmessenger sender exists with
// RELAY_CAM_URL and RELAY_CAM_TOKEN, and in dry-run.
func (k Kind) Builtin(env senders.Env, dryRun bool) (*senders.Config, string, error) {
	const missing = "set " + EnvURL + " and " + EnvToken
	tok, err := env.Secret(EnvToken)
	if err != nil {
		return nil, missing, err
	}
	u := env.Getenv(EnvURL)
	if u != "" {
		if err := senders.CheckHTTPURL(u); err != nil {
			return nil, missing, fmt.Errorf("%s: %w", EnvURL, err)
		}
	}
	if (u != "") != tok.IsSet() {
		return nil, missing, fmt.Errorf("%s and %s: set both to enable Chat&Messenger, or neither", EnvURL, EnvToken)
	}
	if u == "" && !dryRun {
		return nil, missing, nil
	}
	return senders.TokenSender(Name, k, k.Defaults(), u, tok, options{URL: u, Token: tok}), missing, nil
}

// Dest is a Chat&Messenger destination.
type Dest struct {
	// Panel is "messenger" for a direct message to Users, otherwise a
	// room name where Users are mentioned.
	Panel string
	// Users are e-mail addresses, sorted and unique.
	Users []string
	// Sealed is the isOpened (sealed-letter) flag.
	Sealed bool
}

// Address returns the Destination.Address of d:
// panel/{panel}[?users=a,b][&sealed] ("?sealed" without users).
func (d Dest) Address() string {
	var b strings.Builder
	b.WriteString("panel/")
	b.WriteString(d.Panel)
	sep := "?"
	if len(d.Users) > 0 {
		b.WriteString("?users=")
		b.WriteString(strings.Join(d.Users, ","))
		sep = "&"
	}
	if d.Sealed {
		b.WriteString(sep + "sealed")
	}
	return b.String()
}

// ParseAddress reads an address that Address wrote.
func ParseAddress(address string) Dest {
	rest, ok := strings.CutPrefix(address, "panel/")
	if !ok {
		return Dest{}
	}
	var d Dest
	d.Panel, rest, _ = strings.Cut(rest, "?")
	for _, p := range strings.Split(rest, "&") {
		switch {
		case p == "sealed":
			d.Sealed = true
		case strings.HasPrefix(p, "users="):
			d.Users = strings.Split(p[len("users="):], ",")
		}
	}
	return d
}

// NormalizeUsers sorts and de-duplicates users, dropping empty entries.
func NormalizeUsers(users []string) []string {
	var res []string
	for _, u := range users {
		if u = strings.TrimSpace(u); u != "" {
			res = append(res, u)
		}
	}
	slices.Sort(res)
	return slices.Compact(res)
}

// check says what is wrong with a destination, "" when nothing is: the
// panel and users must fit the address (no '?', '&', or ',' in a user).
func (d Dest) check() (key, reason string) {
	switch {
	case d.Panel == "":
		return "panel", "panel is required for a chatmessenger target: messenger or a room name"
	case strings.ContainsAny(d.Panel, "?&"):
		return "panel", fmt.Sprintf("a panel name may not hold '?' or '&', got %q", d.Panel)
	case d.Panel == PanelMessenger && len(d.Users) == 0:
		return "users", "panel messenger sends direct messages and needs users"
	}
	for _, u := range d.Users {
		if strings.ContainsAny(u, "?&,") {
			return "users", fmt.Sprintf("a user may not hold '?', '&' or ',', got %q", u)
		}
	}
	return "", ""
}

// target is a panel with its users, and the users a label may add.
type target struct {
	dest     Dest
	mentions senders.MentionRules
}

type targetOptions struct {
	Panel    confyaml.String       `yaml:"panel"`
	Users    confyaml.List         `yaml:"users"`
	Sealed   bool                  `yaml:"sealed"`
	Mentions *senders.MentionRules `yaml:"mentions"`
	// OnResolve may only be post: Chat&Messenger's API cannot edit or
	// reply to a message, so a resolve is always a message of its own.
	OnResolve confyaml.String `yaml:"on_resolve"`
}

// Target implements senders.Kind.
func (Kind) Target(n confyaml.Node) (senders.Target, error) {
	var o targetOptions
	if err := n.Decode(&o); err != nil {
		return nil, err
	}
	switch o.OnResolve {
	case "", "post":
	default:
		return nil, n.At("on_resolve").Errorf("Chat&Messenger's API cannot edit or reply to a message: a resolve is posted as a message of its own; use on_resolve: post or leave it out, got %q", string(o.OnResolve))
	}
	t := target{dest: Dest{Panel: string(o.Panel), Users: NormalizeUsers(o.Users), Sealed: o.Sealed}}
	if key, reason := t.dest.check(); key != "" {
		return nil, n.At(key).Errorf("%s", reason)
	}
	if o.Mentions != nil {
		if err := o.Mentions.Check(n.At("mentions")); err != nil {
			return nil, err
		}
		t.mentions = *o.Mentions
	}
	return t, nil
}

// Direct implements senders.Kind: /v1/{source}/chatmessenger/{panel}
// with ?users=a,b (the parameter may repeat).
func (Kind) Direct(dest string, q url.Values) (senders.Target, error) {
	var users []string
	for _, v := range q["users"] {
		users = append(users, strings.Split(v, ",")...)
	}
	d := Dest{Panel: dest, Users: NormalizeUsers(users)}
	if _, reason := d.check(); reason != "" {
		return nil, &senders.DestinationError{Reason: reason}
	}
	return target{dest: d}, nil
}

// New implements senders.Kind.
func (Kind) New(c *senders.Config, rt senders.Runtime) (senders.Poster, error) {
	o, _ := c.Options.(options)
	return New(Config{Name: c.Name, URL: o.URL, Token: o.Token, Scrub: rt.Scrub}, rt.Client, rt.Logger)
}

// Describe implements senders.Describer: "panel messenger users a@x,b@x
// (sealed)".
func (Kind) Describe(address string) string {
	d := ParseAddress(address)
	parts := []string{"panel", d.Panel}
	if len(d.Users) > 0 {
		parts = append(parts, "users", strings.Join(d.Users, ","))
	}
	if d.Sealed {
		parts = append(parts, "(sealed)")
	}
	return strings.Join(parts, " ")
}

// Resolve implements senders.Target. The users of a direct message are
// its recipients and always stay; a room's users are mentioned for the
// alerts the mentions' when allows, with the users a label adds when
// allow lists them.
func (t target) Resolve(d *alert.Data) (string, string) {
	dest := t.dest
	active := t.mentions.Active(d)
	switch {
	case len(active) == 0 && dest.Panel != PanelMessenger:
		dest.Users = nil
	case len(active) > 0:
		dest.Users = NormalizeUsers(append(slices.Clone(dest.Users), t.mentions.FromLabelValues(active)...))
	}
	return dest.Address(), ""
}
