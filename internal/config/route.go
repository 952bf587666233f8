package config

import (
	"fmt"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/relayhq/relay/internal/alert"
	"github.com/relayhq/relay/internal/auth"
	"github.com/relayhq/relay/internal/delivery"
)

// Route is a named route: POST /v1/{source}/{name} goes to its targets.
type Route struct {
	Name string
	// Auth is the route's inbound auth; nil means the global one.
	Auth    *auth.Config
	Targets []*Target
}

// Target is one destination of a route, or a direct target from the URL.
type Target struct {
	// Sender names a configured sender; Kind is its kind.
	Sender string
	Kind   string
	// Room is the Chatwork room id.
	Room string
	// Panel is the Chat&Messenger panel: delivery.PanelMessenger for a
	// direct message to Users, otherwise a room name.
	Panel string
	// Users are Chat&Messenger users: the recipients of a direct message,
	// or the users mentioned in a room.
	Users []string
	// Sealed is Chat&Messenger's sealed-letter flag.
	Sealed bool
	// Template names a custom template; empty means the built-in default.
	Template string
	// Matchers select the alerts the target gets; empty selects all.
	Matchers Matchers
	// Mention says whom messages mention; see the Mentions method.
	Mention Mentions

	// at is where the target's sender is named, for Build's errors.
	at pos
}

// route parses one entry of routes:.
func (p *parser) route(name string, at pos, n *yaml.Node, senders map[string]*Sender) (*Route, error) {
	o, err := mapping(at, n, "auth", "targets")
	if err != nil {
		return nil, err
	}
	r := &Route{Name: name}
	if o.has("auth") {
		if r.Auth, err = p.auth(o.pos("auth"), o.values["auth"]); err != nil {
			return nil, err
		}
	}
	seq := resolve(o.values["targets"])
	if isNull(seq) || (seq.Kind == yaml.SequenceNode && len(seq.Content) == 0) {
		return nil, at.errorf("a route needs at least one target")
	}
	tat := o.pos("targets")
	if seq.Kind != yaml.SequenceNode {
		return nil, tat.errorf("want a list of targets, got %s", describe(seq))
	}
	for i, item := range seq.Content {
		t, err := p.target(tat.index(i, item), item, senders)
		if err != nil {
			return nil, err
		}
		r.Targets = append(r.Targets, t)
	}
	return r, nil
}

// target parses one target and checks it against its sender's kind.
func (p *parser) target(at pos, n *yaml.Node, senders map[string]*Sender) (*Target, error) {
	o, err := mapping(at, n, "sender", "room", "panel", "users", "sealed", "template", "matchers", "mentions")
	if err != nil {
		return nil, err
	}
	t := &Target{}
	if t.Sender, err = o.str("sender"); err != nil {
		return nil, err
	}
	if t.Sender == "" {
		return nil, at.errorf("sender is required")
	}
	t.at = o.pos("sender")
	if s, ok := senders[t.Sender]; ok {
		t.Kind = s.Kind
	} else if k, ok := builtinKind(t.Sender); ok {
		t.Kind = k
	} else {
		return nil, pos{file: at.file, line: t.at.line, path: at.path}.errorf("unknown sender %q", t.Sender)
	}
	if t.Room, err = o.str("room"); err != nil {
		return nil, err
	}
	if t.Panel, err = o.str("panel"); err != nil {
		return nil, err
	}
	users, err := o.list("users")
	if err != nil {
		return nil, err
	}
	t.Users = delivery.NormalizeUsers(users)
	if t.Sealed, err = o.boolean("sealed"); err != nil {
		return nil, err
	}
	if t.Template, err = o.str("template"); err != nil {
		return nil, err
	}
	if err := p.matchers(o, t); err != nil {
		return nil, err
	}
	if key, reason := destinationProblem(t); key != "" {
		return nil, o.pos(key).errorf("%s", reason)
	}
	if o.has("mentions") {
		if t.Mention, err = p.mentions(o.pos("mentions"), o.values["mentions"], t.Kind); err != nil {
			return nil, err
		}
	}
	return t, nil
}

func (p *parser) matchers(o *object, t *Target) error {
	list, err := o.list("matchers")
	if err != nil {
		return err
	}
	for i, s := range list {
		m, err := ParseMatcher(s)
		if err != nil {
			at := o.pos("matchers")
			if seq := resolve(o.values["matchers"]); seq.Kind == yaml.SequenceNode {
				at = at.index(i, seq.Content[i])
			}
			return at.errorf("%v", err)
		}
		t.Matchers = append(t.Matchers, m)
	}
	return nil
}

// destinationProblem returns the key at fault and why when the target's
// room, panel, users and sealed flag do not fit its kind; key is "" when
// they do.
func destinationProblem(t *Target) (key, reason string) {
	switch t.Kind {
	case delivery.KindChatwork:
		switch {
		case t.Room == "":
			return "room", "room is required for a chatwork target"
		case !validRoomID(t.Room):
			return "room", fmt.Sprintf("chatwork room id must be a positive integer of at most 18 digits, got %q", t.Room)
		case t.Panel != "":
			return "panel", "panel is for chatmessenger targets; a chatwork target takes a room"
		case len(t.Users) > 0:
			return "users", "users are for chatmessenger targets; a chatwork target mentions with mentions.to"
		case t.Sealed:
			return "sealed", "sealed is for chatmessenger targets"
		}
	case delivery.KindChatMessenger:
		switch {
		case t.Room != "":
			return "room", "room is for chatwork targets; a chatmessenger target takes panel (messenger or a room name)"
		case t.Panel == "":
			return "panel", "panel is required for a chatmessenger target: messenger or a room name"
		case t.Panel == delivery.PanelMessenger && len(t.Users) == 0:
			return "users", "panel messenger sends direct messages and needs users"
		}
	}
	return "", ""
}

// Select returns d restricted to the alerts the target's matchers select,
// or nil when none is. A notification without alerts (a generic webhook)
// is matched by its common labels.
func (t *Target) Select(d *alert.Data) *alert.Data {
	if len(t.Matchers) == 0 {
		return d
	}
	if len(d.Alerts) == 0 {
		if t.Matchers.Matches(d.CommonLabels) {
			return d
		}
		return nil
	}
	var keep alert.Alerts
	for _, a := range d.Alerts {
		if t.Matchers.Matches(a.Labels) {
			keep = append(keep, a)
		}
	}
	if len(keep) == 0 {
		return nil
	}
	if len(keep) == len(d.Alerts) {
		return d
	}
	return d.WithAlerts(keep)
}

// validRoomID reports whether s can be a Chatwork room id: a positive
// integer without a sign or leading zero, of at most 18 digits (Chatwork's
// ids are 64-bit integers; today's have 9).
func validRoomID(s string) bool {
	if len(s) > 18 || strings.HasPrefix(s, "0") || !isDigits(s) {
		return false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return err == nil && n > 0
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	return strings.Trim(s, "0123456789") == ""
}
