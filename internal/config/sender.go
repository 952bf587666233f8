package config

import (
	"crypto/sha256"
	"encoding/hex"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/relayhq/relay/internal/delivery"
	"github.com/relayhq/relay/internal/secret"
)

// Sender is a configured upstream: a protocol (Kind), where it posts, with
// which credential, and the limits and message size it keeps.
type Sender struct {
	Name string
	// Kind is delivery.KindChatwork, KindChatMessenger or KindConsole.
	Kind string
	// URL is Chatwork's API base URL or Chat&Messenger's serverURL.
	URL   string
	Token secret.Secret
	// RoomLimit is per room (Chatwork: 10 posts / 10 s), TokenLimit per
	// token (Chatwork: 300 requests / 5 min); the zero Limit means none.
	RoomLimit  Limit
	TokenLimit Limit
	// Margin is added to every window so that clock skew and latency never
	// let a post in early.
	Margin time.Duration
	// MaxChars is the longest message body, as delivery.Len counts it.
	MaxChars int
	// Separator goes between messages coalesced into one post.
	Separator string
	// TokenKey names the token's limiter key without revealing the token:
	// senders with the same URL and token share it, so they share a limit.
	TokenKey string
}

// Limit is at most Count posts in any window of length Per.
type Limit struct {
	Count int
	Per   time.Duration
}

// Enabled reports whether the limit applies.
func (l Limit) Enabled() bool { return l.Count > 0 && l.Per > 0 }

// Message size limits by kind. Chatwork allows 65,535 characters; Chat&
// Messenger documents none, so relay picks a size that its clients show.
const (
	ChatworkMaxChars      = 65535
	ChatMessengerMaxChars = 30000
)

// newSender returns a sender of kind with the defaults of its kind.
func newSender(name, kind string) *Sender {
	s := &Sender{Name: name, Kind: kind, MaxChars: ChatMessengerMaxChars, Separator: "\n\n――――――――\n\n"}
	if kind == delivery.KindChatwork {
		s.RoomLimit = Limit{Count: 10, Per: 10 * time.Second}
		s.TokenLimit = Limit{Count: 300, Per: 5 * time.Minute}
		s.Margin = 250 * time.Millisecond
		s.MaxChars = ChatworkMaxChars
		s.Separator = "\n[hr]\n"
	}
	return s
}

// tokenKey returns kind/token/ and the first 12 hex digits of
// sha256(url NUL token).
func tokenKey(kind, url string, token secret.Secret) string {
	sum := sha256.Sum256([]byte(url + "\x00" + token.Reveal()))
	return kind + "/token/" + hex.EncodeToString(sum[:])[:12]
}

// builtinKind returns the kind of a built-in sender name.
func builtinKind(name string) (string, bool) {
	switch name {
	case delivery.KindChatwork, delivery.KindChatMessenger, delivery.KindConsole:
		return name, true
	}
	return "", false
}

// sender parses one entry of senders:.
func (p *parser) sender(name string, at pos, n *yaml.Node) (*Sender, error) {
	if _, ok := builtinKind(name); ok {
		return nil, at.errorf("%q is the name of a built-in sender; pick another name", name)
	}
	o, err := mapping(at, n, "type", "api_url", "url", "token_env", "token_file", "limits", "max_chars", "separator")
	if err != nil {
		return nil, err
	}
	kind, err := o.str("type")
	if err != nil {
		return nil, err
	}
	switch kind {
	case delivery.KindChatwork, delivery.KindChatMessenger, delivery.KindConsole:
	case "":
		return nil, at.errorf("type is required: chatwork, chatmessenger or console")
	default:
		return nil, o.pos("type").errorf("unknown sender type %q: want chatwork, chatmessenger or console", kind)
	}
	s := newSender(name, kind)
	if err := p.senderEndpoint(o, s); err != nil {
		return nil, err
	}
	if err := p.senderLimits(o, s); err != nil {
		return nil, err
	}
	if v, ok, err := o.integer("max_chars"); err != nil {
		return nil, err
	} else if ok {
		if v <= 0 {
			return nil, o.pos("max_chars").errorf("must be positive, got %d", v)
		}
		if kind == delivery.KindChatwork && v > ChatworkMaxChars {
			return nil, o.pos("max_chars").errorf("Chatwork takes at most %d characters, got %d", ChatworkMaxChars, v)
		}
		s.MaxChars = v
	}
	// A separator is taken as written, spaces and newlines included.
	if sep, ok, err := o.scalar("separator"); err != nil {
		return nil, err
	} else if ok {
		s.Separator = sep.Value
	}
	return s, nil
}

// senderEndpoint reads the URL and the token of s.
func (p *parser) senderEndpoint(o *object, s *Sender) error {
	apiURL, err := o.str("api_url")
	if err != nil {
		return err
	}
	camURL, err := o.str("url")
	if err != nil {
		return err
	}
	switch s.Kind {
	case delivery.KindChatwork:
		if camURL != "" {
			return o.pos("url").errorf("chatwork senders take api_url, not url")
		}
		s.URL = apiURL // empty: RELAY_CHATWORK_API_URL, filled in by Build
	case delivery.KindChatMessenger:
		if apiURL != "" {
			return o.pos("api_url").errorf("chatmessenger senders take url (the serverURL), not api_url")
		}
		if camURL == "" {
			return o.at.errorf("url is required for a chatmessenger sender")
		}
		s.URL = camURL
	case delivery.KindConsole:
		if apiURL != "" || camURL != "" || o.has("token_env") || o.has("token_file") {
			return o.at.errorf("a console sender takes no url or token")
		}
		return nil
	}
	if s.URL != "" {
		if err := checkHTTPURL(s.URL); err != nil {
			key := "api_url"
			if s.Kind == delivery.KindChatMessenger {
				key = "url"
			}
			return o.pos(key).errorf("%v", err)
		}
	}
	tok, ok, err := p.secret(o, "token")
	if err != nil {
		return err
	}
	if !ok {
		return o.at.errorf("token_env or token_file is required for a %s sender", s.Kind)
	}
	s.Token = tok
	return nil
}

// senderLimits reads limits: {room, token, margin}; each given limit
// replaces the kind's default.
func (p *parser) senderLimits(o *object, s *Sender) error {
	lo, err := mapping(o.pos("limits"), o.values["limits"], "room", "token", "margin")
	if err != nil {
		return err
	}
	for _, l := range []struct {
		key string
		dst *Limit
	}{{"room", &s.RoomLimit}, {"token", &s.TokenLimit}} {
		if !lo.has(l.key) {
			continue
		}
		m, err := mapping(lo.pos(l.key), lo.values[l.key], "count", "per")
		if err != nil {
			return err
		}
		count, ok, err := m.integer("count")
		if err != nil {
			return err
		}
		if !ok || count <= 0 {
			return m.pos("count").errorf("count must be a positive integer")
		}
		per, ok, err := m.duration("per")
		if err != nil {
			return err
		}
		if !ok || per <= 0 {
			return m.pos("per").errorf("per must be a positive duration")
		}
		*l.dst = Limit{Count: count, Per: per}
	}
	if margin, ok, err := lo.duration("margin"); err != nil {
		return err
	} else if ok {
		if margin < 0 {
			return lo.pos("margin").errorf("margin must not be negative")
		}
		s.Margin = margin
	}
	for _, l := range []Limit{s.RoomLimit, s.TokenLimit} {
		if l.Enabled() && s.Margin >= l.Per {
			return lo.pos("margin").errorf("margin %s must be shorter than the window %s", s.Margin, l.Per)
		}
	}
	return nil
}
