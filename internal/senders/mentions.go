package senders

import (
	"regexp"
	"slices"
	"strings"

	"github.com/relayhq/relay/internal/alert"
	"github.com/relayhq/relay/internal/confyaml"
)

// MentionRules are the parts of a target's mentions: block that every kind
// with mentions shares: whom an alert label may mention, and when. Whoever
// writes alert rules can only mention people on Allow: values taken from
// the FromLabel label are dropped unless listed there.
type MentionRules struct {
	// FromLabel names an alert label holding comma-separated ids or users.
	FromLabel string `yaml:"from_label"`
	// Allow is the allowlist for values taken from FromLabel.
	Allow confyaml.List `yaml:"allow"`
	// When limits the mentions to some alerts.
	When When `yaml:"when"`
}

// When limits mentions to alerts of some statuses and severities (the
// severity label); an empty list allows any.
type When struct {
	Status   confyaml.List `yaml:"status"`
	Severity confyaml.List `yaml:"severity"`
}

// labelName is Prometheus's label name syntax.
var labelName = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)

// Check validates the rules; n is the mentions: mapping, for errors.
func (m MentionRules) Check(n confyaml.Node) error {
	if m.FromLabel != "" {
		if !labelName.MatchString(m.FromLabel) {
			return n.At("from_label").Errorf("invalid label name %q", m.FromLabel)
		}
		if len(m.Allow) == 0 {
			return n.At("from_label").Errorf("from_label needs allow: the ids or users the label may mention")
		}
	}
	for _, s := range m.When.Status {
		if s != alert.StatusFiring && s != alert.StatusResolved {
			return n.At("when").At("status").Errorf("unknown status %q: want firing or resolved", s)
		}
	}
	return nil
}

// Active returns the alerts of d that When allows. A notification without
// alerts counts as one alert with its status and common labels.
func (m MentionRules) Active(d *alert.Data) alert.Alerts {
	as := d.Alerts
	if len(as) == 0 {
		as = alert.Alerts{{Status: d.Status, Labels: d.CommonLabels}}
	}
	var out alert.Alerts
	for _, a := range as {
		if (len(m.When.Status) == 0 || slices.Contains(m.When.Status, a.Status)) &&
			(len(m.When.Severity) == 0 || slices.Contains(m.When.Severity, a.Labels["severity"])) {
			out = append(out, a)
		}
	}
	return out
}

// FromLabelValues returns the values of the FromLabel label of active that
// Allow lists, in order.
func (m MentionRules) FromLabelValues(active alert.Alerts) []string {
	if m.FromLabel == "" {
		return nil
	}
	var out []string
	for _, a := range active {
		for _, v := range strings.Split(a.Labels[m.FromLabel], ",") {
			if v = strings.TrimSpace(v); v != "" && slices.Contains(m.Allow, v) {
				out = append(out, v)
			}
		}
	}
	return out
}

// Unique drops repeated entries, keeping the first of each.
func Unique(s []string) []string {
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
