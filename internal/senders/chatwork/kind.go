package chatwork

import (
	"embed"
	"fmt"
	"io/fs"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/relayhq/relay/internal/alert"
	"github.com/relayhq/relay/internal/confyaml"
	"github.com/relayhq/relay/internal/secret"
	"github.com/relayhq/relay/internal/senders"
	"github.com/relayhq/relay/internal/templates"
)

// Name is the kind's type.
const Name = "chatwork"

// Environment variables of the built-in chatwork sender.
const (
	EnvToken  = "RELAY_CHATWORK_TOKEN" // or RELAY_CHATWORK_TOKEN_FILE
	EnvAPIURL = "RELAY_CHATWORK_API_URL"
)

//go:embed templates/*.tmpl
var templateFiles embed.FS

// Kind is the chatwork sender kind.
type Kind struct{}

var _ senders.Kind = Kind{}

// Name implements senders.Kind.
func (Kind) Name() string { return Name }

// Defaults implements senders.Kind: Chatwork's documented limits (10 posts
// per room per 10 s, 300 requests per token per 5 min), 65,535 characters,
// and a horizontal rule between folded messages.
func (Kind) Defaults() senders.Settings {
	return senders.Settings{
		Destination:    senders.Limit{Count: 10, Per: 10 * time.Second},
		LimitName:      "room",
		Token:          senders.Limit{Count: 300, Per: 5 * time.Minute},
		Margin:         250 * time.Millisecond,
		MaxChars:       MaxBodyLen,
		MaxCharsCap:    MaxBodyLen,
		Separator:      "\n[hr]\n",
		Fold:           true,
		RateLimitPause: roomPause,
	}
}

// Notation implements senders.Kind: alert text neutralised, messages in an
// [info] block, mentions that a template joined disarmed, and a storm
// post's heading as the [title] of its [info] block.
func (Kind) Notation() templates.Notation {
	return templates.Notation{
		Defaults:   Name,
		Neutralize: Neutralize,
		BlockOpen:  "[info]",
		BlockClose: "[/info]",
		Finish:     DisarmMentions,
		Heading: func(heading, body string) string {
			return "[info][title]" + heading + "[/title]" + body + "[/info]"
		},
	}
}

// Templates implements senders.Kind: chatwork.<payload kind>.
func (Kind) Templates() fs.FS { return templateFiles }

// options are what a chatwork sender adds to the common settings.
type options struct {
	APIURL string
	Token  secret.Secret
}

// senderOptions are the keys of a chatwork senders: entry.
type senderOptions struct {
	APIURL            confyaml.String `yaml:"api_url"`
	senders.TokenKeys `yaml:",inline"`
}

// Sender implements senders.Kind. Without api_url the sender posts to
// RELAY_CHATWORK_API_URL, or DefaultAPIURL.
func (k Kind) Sender(name string, s senders.Settings, n confyaml.Node, src confyaml.Source) (*senders.Config, error) {
	var o senderOptions
	if err := n.Decode(&o); err != nil {
		return nil, err
	}
	apiURL := string(o.APIURL)
	if apiURL == "" {
		apiURL = src.Getenv(EnvAPIURL)
	}
	if apiURL == "" {
		apiURL = DefaultAPIURL
	}
	if err := senders.CheckHTTPURL(apiURL); err != nil {
		return nil, n.At("api_url").Errorf("%v, got %q", err, apiURL)
	}
	tok, err := o.Token(n, src, Name)
	if err != nil {
		return nil, err
	}
	return senders.TokenSender(name, k, s, apiURL, tok, options{APIURL: apiURL, Token: tok}), nil
}

// Builtin implements senders.Kind: the chatwork sender exists with
// RELAY_CHATWORK_TOKEN, and in dry-run.
func (k Kind) Builtin(env senders.Env, dryRun bool) (*senders.Config, string, error) {
	const missing = "set " + EnvToken
	tok, err := env.Secret(EnvToken)
	if err != nil {
		return nil, missing, err
	}
	apiURL := env.Getenv(EnvAPIURL)
	if apiURL == "" {
		apiURL = DefaultAPIURL
	}
	if err := senders.CheckHTTPURL(apiURL); err != nil {
		return nil, missing, fmt.Errorf("%s: %w", EnvAPIURL, err)
	}
	if !tok.IsSet() && !dryRun {
		return nil, missing, nil
	}
	return senders.TokenSender(Name, k, k.Defaults(), apiURL, tok, options{APIURL: apiURL, Token: tok}), missing, nil
}

// target is a Chatwork room with the target's mentions, and how the room
// follows a group (Follow).
type target struct {
	room      string
	mentions  mentions
	onResolve OnResolve
	task      *Task
}

// targetOptions are the keys of a chatwork target.
type targetOptions struct {
	Room      confyaml.String `yaml:"room"`
	Mentions  *mentions       `yaml:"mentions"`
	OnResolve confyaml.String `yaml:"on_resolve"`
	Task      *taskOptions    `yaml:"task"`
}

// mentions are a chatwork target's mentions: fixed account ids, the whole
// room, or ids from a label.
type mentions struct {
	// To are fixed Chatwork account ids, mentioned as [To:id].
	To confyaml.List `yaml:"to"`
	// ToAll mentions the whole room ([toall]).
	ToAll                bool `yaml:"toall"`
	senders.MentionRules `yaml:",inline"`
}

// Target implements senders.Kind.
func (Kind) Target(n confyaml.Node) (senders.Target, error) {
	t, err := decodeTarget(n)
	if err != nil {
		return nil, err
	}
	return t, nil
}

// decodeTarget decodes and checks a chatwork target.
func decodeTarget(n confyaml.Node) (target, error) {
	var o targetOptions
	if err := n.Decode(&o); err != nil {
		return target{}, err
	}
	room := string(o.Room)
	if room == "" {
		return target{}, n.Errorf("room is required for a chatwork target")
	}
	if !ValidRoomID(room) {
		return target{}, n.At("room").Errorf("chatwork room id must be a positive integer of at most 18 digits, got %q", room)
	}
	t := target{room: room}
	if o.Mentions != nil {
		m := n.At("mentions")
		if err := o.Mentions.Check(m); err != nil {
			return target{}, err
		}
		if err := checkAccounts(m, o.Mentions.To, o.Mentions.Allow); err != nil {
			return target{}, err
		}
		t.mentions = *o.Mentions
	}
	if err := t.decodeFollow(n, string(o.OnResolve), o.Task); err != nil {
		return target{}, err
	}
	return t, nil
}

// Direct implements senders.Kind: /v1/{source}/chatwork/{room}.
func (Kind) Direct(dest string, _ url.Values) (senders.Target, error) {
	if !ValidRoomID(dest) {
		return nil, &senders.DestinationError{Reason: fmt.Sprintf("chatwork room id must be a positive integer of at most 18 digits, got %.32q", dest)}
	}
	return target{room: dest}, nil
}

// New implements senders.Kind.
func (Kind) New(c *senders.Config, rt senders.Runtime) (senders.Poster, error) {
	o, _ := c.Options.(options)
	return New(Config{Name: c.Name, APIURL: o.APIURL, Token: o.Token, Scrub: rt.Scrub}, rt.Client, rt.Logger)
}

// Describe implements senders.Describer: "room 42".
func (Kind) Describe(address string) string { return "room " + Room(address) }

// Address is the Destination.Address of a room.
func Address(room string) string { return "room/" + room }

// Room returns the room id of an address, "" when it names none.
func Room(address string) string {
	room, ok := strings.CutPrefix(address, "room/")
	if !ok {
		return ""
	}
	return room
}

// Resolve implements senders.Target: the room, and the mention prefix
// ("[To:1][To:2]\n" or "[toall]\n") for the alerts the mentions' when
// allows. Ids from the label are mentioned only when allow lists them.
func (t target) Resolve(d *alert.Data) (string, string) {
	return Address(t.room), t.mentions.prefix(d)
}

func (m mentions) prefix(d *alert.Data) string {
	if len(m.To) == 0 && !m.ToAll && m.FromLabel == "" {
		return ""
	}
	active := m.Active(d)
	if len(active) == 0 {
		return ""
	}
	if m.ToAll {
		return "[toall]\n"
	}
	ids := senders.Unique(append(append([]string(nil), m.To...), m.FromLabelValues(active)...))
	if len(ids) == 0 {
		return ""
	}
	var b strings.Builder
	for _, id := range ids {
		b.WriteString("[To:" + id + "]")
	}
	return b.String() + "\n"
}

// ValidRoomID reports whether s can be a Chatwork room id: a positive
// integer without a sign or leading zero, of at most 18 digits (Chatwork's
// ids are 64-bit integers; today's have 9).
func ValidRoomID(s string) bool {
	if len(s) > 18 || strings.HasPrefix(s, "0") || !digits(s) {
		return false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return err == nil && n > 0
}
