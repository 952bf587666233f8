package config

import (
	"fmt"

	"go.yaml.in/yaml/v3"

	"github.com/relayhq/relay/internal/alert"
	"github.com/relayhq/relay/internal/auth"
	"github.com/relayhq/relay/internal/confyaml"
	"github.com/relayhq/relay/internal/senders"
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
	Kind   senders.Kind
	// Template names a custom template; empty means the built-in default.
	Template string
	// Matchers select the alerts the target gets; empty selects all.
	Matchers Matchers
	// Dest is where the target delivers, as its kind decoded it.
	Dest senders.Target

	// at is where the target's sender is named, for Build's errors.
	at confyaml.Node
}

// routeDoc is one entry of routes:.
type routeDoc struct {
	Auth    yaml.Node `yaml:"auth"`
	Targets yaml.Node `yaml:"targets"`
}

// targetDoc holds the keys every target has; Rest takes its kind's.
type targetDoc struct {
	Sender   confyaml.String      `yaml:"sender"`
	Template confyaml.String      `yaml:"template"`
	Matchers confyaml.List        `yaml:"matchers"`
	Rest     map[string]yaml.Node `yaml:",inline"`
}

// route parses one entry of routes:.
func (p *parser) route(name string, n confyaml.Node, fileSenders map[string]*senders.Config) (*Route, error) {
	var doc routeDoc
	if err := n.Decode(&doc); err != nil {
		return nil, err
	}
	r := &Route{Name: name}
	if an := n.Key("auth"); !an.IsNull() {
		a, err := p.auth(an)
		if err != nil {
			return nil, err
		}
		r.Auth = a
	}
	tn := n.Key("targets")
	if tn.IsNull() || (tn.Y.Kind == yaml.SequenceNode && len(tn.Y.Content) == 0) {
		return nil, n.Errorf("a route needs at least one target")
	}
	if tn.Y.Kind != yaml.SequenceNode {
		return nil, tn.Errorf("want a list of targets, got %s", tn.Describe())
	}
	for i := range tn.Y.Content {
		t, err := p.target(tn.Index(i), fileSenders)
		if err != nil {
			return nil, err
		}
		r.Targets = append(r.Targets, t)
	}
	return r, nil
}

// target parses one target: its common keys here, the rest by the kind of
// its sender.
func (p *parser) target(n confyaml.Node, fileSenders map[string]*senders.Config) (*Target, error) {
	if n.IsNull() || n.Y.Kind != yaml.MappingNode {
		return nil, n.Errorf("want a target mapping with sender, got %s", n.Describe())
	}
	var doc targetDoc
	if err := n.Decode(&doc); err != nil {
		return nil, err
	}
	if doc.Sender == "" {
		return nil, n.Errorf("sender is required")
	}
	t := &Target{Sender: string(doc.Sender), Template: string(doc.Template), at: n.Key("sender")}
	if s, ok := fileSenders[t.Sender]; ok {
		t.Kind = s.Kind
	} else if k, ok := p.kinds[t.Sender]; ok {
		t.Kind = k
	} else {
		return nil, &Error{File: n.File, Line: t.at.Line(), Path: n.Path, Reason: fmt.Sprintf("unknown sender %q", t.Sender)}
	}
	for i, s := range doc.Matchers {
		m, err := ParseMatcher(s)
		if err != nil {
			at := n.Key("matchers")
			if at.Y.Kind == yaml.SequenceNode {
				at = at.Index(i)
			}
			return nil, at.Errorf("%v", err)
		}
		t.Matchers = append(t.Matchers, m)
	}
	dest, err := t.Kind.Target(n.Without("sender", "template", "matchers"))
	if err != nil {
		return nil, err
	}
	t.Dest = dest
	return t, nil
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
