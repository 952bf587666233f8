package config

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/relayhq/relay/internal/alert"
)

// MatchType is the operator of a label matcher.
type MatchType int

// Matcher operators, as Alertmanager writes them.
const (
	MatchEqual     MatchType = iota // =
	MatchNotEqual                   // !=
	MatchRegexp                     // =~
	MatchNotRegexp                  // !~
)

func (t MatchType) String() string {
	switch t {
	case MatchEqual:
		return "="
	case MatchNotEqual:
		return "!="
	case MatchRegexp:
		return "=~"
	case MatchNotRegexp:
		return "!~"
	}
	return fmt.Sprintf("MatchType(%d)", int(t))
}

// Matcher selects alerts by one label, with Alertmanager's semantics: a
// missing label has the empty value, and regular expressions are anchored
// at both ends.
type Matcher struct {
	Type  MatchType
	Name  string
	Value string
	re    *regexp.Regexp
}

// NewMatcher returns a matcher, compiling Value for the regexp operators.
func NewMatcher(t MatchType, name, value string) (*Matcher, error) {
	if !validLabelName(name) {
		return nil, fmt.Errorf("invalid label name %q", name)
	}
	m := &Matcher{Type: t, Name: name, Value: value}
	switch t {
	case MatchEqual, MatchNotEqual:
	case MatchRegexp, MatchNotRegexp:
		re, err := regexp.Compile("^(?:" + value + ")$")
		if err != nil {
			return nil, fmt.Errorf("compile regexp %q: %w", value, err)
		}
		m.re = re
	default:
		return nil, fmt.Errorf("unknown match type %d", int(t))
	}
	return m, nil
}

// ParseMatcher parses one matcher in Alertmanager syntax: name, operator
// (=, !=, =~, !~) and a value, double-quoted or bare, e.g.
// `severity=~"critical|warning"` or `env!=dev`.
func ParseMatcher(s string) (*Matcher, error) {
	in := strings.TrimSpace(s)
	i := strings.IndexAny(in, "=!")
	if i < 0 {
		return nil, fmt.Errorf("matcher %q: want name=value, name!=value, name=~regexp or name!~regexp", s)
	}
	name := strings.TrimSpace(in[:i])
	rest := in[i:]
	var t MatchType
	switch {
	case strings.HasPrefix(rest, "=~"):
		t = MatchRegexp
	case strings.HasPrefix(rest, "!~"):
		t = MatchNotRegexp
	case strings.HasPrefix(rest, "!="):
		t = MatchNotEqual
	case strings.HasPrefix(rest, "="):
		t = MatchEqual
	default:
		return nil, fmt.Errorf("matcher %q: unknown operator", s)
	}
	value, err := parseMatcherValue(strings.TrimSpace(rest[len(t.String()):]))
	if err != nil {
		return nil, fmt.Errorf("matcher %q: %w", s, err)
	}
	m, err := NewMatcher(t, name, value)
	if err != nil {
		return nil, fmt.Errorf("matcher %q: %w", s, err)
	}
	return m, nil
}

// parseMatcherValue unquotes a double-quoted value; a bare value is taken
// as it is but must not contain quotes.
func parseMatcherValue(v string) (string, error) {
	if strings.HasPrefix(v, `"`) {
		u, err := strconv.Unquote(v)
		if err != nil {
			return "", fmt.Errorf("bad quoted value %s", v)
		}
		return u, nil
	}
	if strings.ContainsAny(v, "\"'`") {
		return "", fmt.Errorf("bad value %s: quote it with double quotes", v)
	}
	return v, nil
}

func validLabelName(n string) bool {
	if n == "" {
		return false
	}
	for i, r := range n {
		ok := r == '_' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (i > 0 && r >= '0' && r <= '9')
		if !ok {
			return false
		}
	}
	return true
}

// Matches reports whether a label value v satisfies the matcher.
func (m *Matcher) Matches(v string) bool {
	switch m.Type {
	case MatchEqual:
		return v == m.Value
	case MatchNotEqual:
		return v != m.Value
	case MatchRegexp:
		return m.re.MatchString(v)
	case MatchNotRegexp:
		return !m.re.MatchString(v)
	}
	return false
}

// String returns the matcher in Alertmanager syntax, value quoted.
func (m *Matcher) String() string {
	return m.Name + m.Type.String() + strconv.Quote(m.Value)
}

// Matchers is a conjunction of matchers; an empty list matches everything.
type Matchers []*Matcher

// Matches reports whether labels satisfy every matcher.
func (ms Matchers) Matches(labels alert.KV) bool {
	for _, m := range ms {
		if !m.Matches(labels[m.Name]) {
			return false
		}
	}
	return true
}

// String returns the matchers as Alertmanager prints them: {a="b", c=~"d"}.
func (ms Matchers) String() string {
	parts := make([]string, len(ms))
	for i, m := range ms {
		parts[i] = m.String()
	}
	return "{" + strings.Join(parts, ", ") + "}"
}
