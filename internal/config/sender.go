package config

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/relayhq/relay/internal/confyaml"
	"github.com/relayhq/relay/internal/senders"
)

// senderDoc holds the keys every sender has, whatever its kind; Rest takes
// the kind's own.
type senderDoc struct {
	Type      confyaml.String      `yaml:"type"`
	Limits    *limitsDoc           `yaml:"limits"`
	MaxChars  *int                 `yaml:"max_chars"`
	Separator *string              `yaml:"separator"`
	Rest      map[string]yaml.Node `yaml:",inline"`
}

// limitsDoc is limits: {room or destination, token, margin}.
type limitsDoc struct {
	Room        *limitDoc          `yaml:"room"`
	Destination *limitDoc          `yaml:"destination"`
	Token       *limitDoc          `yaml:"token"`
	Margin      *confyaml.Duration `yaml:"margin"`
}

type limitDoc struct {
	Count *int               `yaml:"count"`
	Per   *confyaml.Duration `yaml:"per"`
}

// sender parses one entry of senders: its common keys here, the rest by
// its kind.
func (p *parser) sender(name string, n confyaml.Node) (*senders.Config, error) {
	if _, ok := p.kinds[name]; ok {
		return nil, n.Errorf("%q is the name of a built-in sender; pick another name", name)
	}
	var doc senderDoc
	if err := n.Decode(&doc); err != nil {
		return nil, err
	}
	if doc.Type == "" {
		return nil, n.Errorf("type is required: %s", p.kindList())
	}
	kind, ok := p.kinds[string(doc.Type)]
	if !ok {
		return nil, n.Key("type").Errorf("unknown sender type %q: want %s", doc.Type, p.kindList())
	}
	s := kind.Defaults()
	if err := applyLimits(n.Key("limits"), doc.Limits, &s); err != nil {
		return nil, err
	}
	if doc.MaxChars != nil {
		v := *doc.MaxChars
		switch {
		case v <= 0:
			return nil, n.At("max_chars").Errorf("must be positive, got %d", v)
		case s.MaxCharsCap > 0 && v > s.MaxCharsCap:
			return nil, n.At("max_chars").Errorf("a %s sender takes at most %d characters, got %d", kind.Name(), s.MaxCharsCap, v)
		}
		s.MaxChars = v
	}
	if doc.Separator != nil {
		s.Separator = *doc.Separator // as written, spaces and newlines included
	}
	return kind.Sender(name, s, n.Without("type", "limits", "max_chars", "separator"), p.src)
}

// applyLimits sets the limits given in l; each replaces the kind's default.
func applyLimits(n confyaml.Node, l *limitsDoc, s *senders.Settings) error {
	if l == nil {
		return nil
	}
	dest, destKey, other := l.Destination, "destination", l.Room != nil
	if s.LimitName == "room" {
		dest, destKey, other = l.Room, "room", l.Destination != nil
	}
	if other {
		wrong := map[string]string{"room": "destination", "destination": "room"}[destKey]
		return n.Key(wrong).Errorf("unknown key: this sender's destination limit is %s", destKey)
	}
	for _, x := range []struct {
		key string
		doc *limitDoc
		dst *senders.Limit
	}{{destKey, dest, &s.Destination}, {"token", l.Token, &s.Token}} {
		if x.doc == nil {
			continue
		}
		at := n.At(x.key)
		if x.doc.Count == nil || *x.doc.Count <= 0 {
			return at.At("count").Errorf("count must be a positive integer")
		}
		if x.doc.Per == nil || *x.doc.Per <= 0 {
			return at.At("per").Errorf("per must be a positive duration")
		}
		*x.dst = senders.Limit{Count: *x.doc.Count, Per: time.Duration(*x.doc.Per)}
	}
	if l.Margin != nil {
		if *l.Margin < 0 {
			return n.At("margin").Errorf("margin must not be negative")
		}
		s.Margin = time.Duration(*l.Margin)
	}
	for _, lim := range []senders.Limit{s.Destination, s.Token} {
		if lim.Enabled() && s.Margin >= lim.Per {
			return n.At("margin").Errorf("margin %s must be shorter than the window %s", s.Margin, lim.Per)
		}
	}
	return nil
}

// kindList names the kinds for errors: "a, b or c".
func (p *parser) kindList() string {
	names := make([]string, 0, len(p.kinds))
	for n := range p.kinds {
		names = append(names, n)
	}
	slices.Sort(names)
	switch len(names) {
	case 0:
		return "no kinds are built in"
	case 1:
		return names[0]
	}
	return fmt.Sprintf("%s or %s", strings.Join(names[:len(names)-1], ", "), names[len(names)-1])
}
