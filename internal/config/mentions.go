package config

import (
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/relayhq/relay/internal/alert"
	"github.com/relayhq/relay/internal/delivery"
)

// Mentions says whom a target's messages mention. Whoever writes alert
// rules can only mention people on Allow: ids taken from the FromLabel
// label are dropped unless listed there.
type Mentions struct {
	// To are fixed Chatwork account ids, mentioned as [To:id].
	To []string
	// ToAll mentions the whole Chatwork room ([toall]).
	ToAll bool
	// FromLabel names an alert label holding comma-separated Chatwork
	// account ids or Chat&Messenger users to mention.
	FromLabel string
	// Allow is the allowlist for ids and users taken from FromLabel.
	Allow []string
	// When limits the mentions to some alerts.
	When When
}

// When limits mentions to alerts of some statuses and severities (the
// severity label); an empty list allows any.
type When struct {
	Status   []string
	Severity []string
}

// mentions parses a target's mentions: block for a sender of kind.
func (p *parser) mentions(at pos, n *yaml.Node, kind string) (Mentions, error) {
	var m Mentions
	o, err := mapping(at, n, "to", "toall", "from_label", "allow", "when")
	if err != nil {
		return m, err
	}
	if m.To, err = o.list("to"); err != nil {
		return m, err
	}
	if m.ToAll, err = o.boolean("toall"); err != nil {
		return m, err
	}
	if m.FromLabel, err = o.str("from_label"); err != nil {
		return m, err
	}
	if m.Allow, err = o.list("allow"); err != nil {
		return m, err
	}
	if kind != delivery.KindChatwork && (len(m.To) > 0 || m.ToAll) {
		return m, o.pos("to").errorf("to and toall are Chatwork mentions; a %s target mentions its users", kind)
	}
	if kind == delivery.KindChatwork {
		for _, l := range []struct {
			key string
			ids []string
		}{{"to", m.To}, {"allow", m.Allow}} {
			for _, id := range l.ids {
				if !isDigits(id) {
					return m, o.pos(l.key).errorf("Chatwork account ids are digits, got %q", id)
				}
			}
		}
	}
	if m.FromLabel != "" {
		if !validLabelName(m.FromLabel) {
			return m, o.pos("from_label").errorf("invalid label name %q", m.FromLabel)
		}
		if len(m.Allow) == 0 {
			return m, o.pos("from_label").errorf("from_label needs allow: the ids or users the label may mention")
		}
	}
	w, err := mapping(o.pos("when"), o.values["when"], "status", "severity")
	if err != nil {
		return m, err
	}
	if m.When.Status, err = w.list("status"); err != nil {
		return m, err
	}
	for _, s := range m.When.Status {
		if s != alert.StatusFiring && s != alert.StatusResolved {
			return m, w.pos("status").errorf("unknown status %q: want firing or resolved", s)
		}
	}
	if m.When.Severity, err = w.list("severity"); err != nil {
		return m, err
	}
	return m, nil
}

// Mentions returns, for d, the Chatwork mention prefix ("[To:1][To:2]\n",
// or "[toall]\n") and the Chat&Messenger users: the target's users plus
// those taken from the label. Mentions come only from alerts that When
// allows, and ids from the label only when Allow lists them. The users of
// a direct message (panel messenger) are its recipients and always stay.
func (t *Target) Mentions(d *alert.Data) (chatworkPrefix string, users []string) {
	m := t.Mention
	var fixed []string
	if t.Kind == delivery.KindChatMessenger && t.Panel == delivery.PanelMessenger {
		fixed = t.Users
	}
	active := m.When.filter(d)
	if len(active) == 0 {
		return "", slices.Clone(fixed)
	}
	var fromLabel []string
	if m.FromLabel != "" {
		for _, a := range active {
			for _, v := range strings.Split(a.Labels[m.FromLabel], ",") {
				if v = strings.TrimSpace(v); v != "" && slices.Contains(m.Allow, v) {
					fromLabel = append(fromLabel, v)
				}
			}
		}
	}
	switch t.Kind {
	case delivery.KindChatwork:
		if m.ToAll {
			return "[toall]\n", nil
		}
		ids := unique(append(slices.Clone(m.To), fromLabel...))
		if len(ids) == 0 {
			return "", nil
		}
		var b strings.Builder
		for _, id := range ids {
			b.WriteString("[To:" + id + "]")
		}
		return b.String() + "\n", nil
	case delivery.KindChatMessenger:
		return "", unique(append(slices.Clone(t.Users), fromLabel...))
	}
	return "", nil
}

// filter returns the alerts of d that w allows. A notification without
// alerts counts as one alert with its status and common labels.
func (w When) filter(d *alert.Data) alert.Alerts {
	as := d.Alerts
	if len(as) == 0 {
		as = alert.Alerts{{Status: d.Status, Labels: d.CommonLabels}}
	}
	var out alert.Alerts
	for _, a := range as {
		if (len(w.Status) == 0 || slices.Contains(w.Status, a.Status)) &&
			(len(w.Severity) == 0 || slices.Contains(w.Severity, a.Labels["severity"])) {
			out = append(out, a)
		}
	}
	return out
}

// unique drops repeated entries, keeping the first of each.
func unique(s []string) []string {
	seen := map[string]bool{}
	out := s[:0]
	for _, v := range s {
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out
}
