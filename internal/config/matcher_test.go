package config

import (
	"strings"
	"testing"

	"github.com/relayhq/relay/internal/alert"
)

func TestParseMatcher(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in      string
		want    string // String() of the parsed matcher
		wantErr string
	}{
		{in: `severity="critical"`, want: `severity="critical"`},
		{in: `severity=critical`, want: `severity="critical"`},
		{in: ` env != "dev" `, want: `env!="dev"`},
		{in: `severity=~"critical|warning"`, want: `severity=~"critical|warning"`},
		{in: `job!~node.*`, want: `job!~"node.*"`},
		{in: `msg="a \"quoted\" word"`, want: `msg="a \"quoted\" word"`},
		{in: `empty=""`, want: `empty=""`},
		{in: `severity`, wantErr: `matcher "severity": want name=value`},
		{in: `="x"`, wantErr: `matcher "=\"x\"": invalid label name ""`},
		{in: `1abc="x"`, wantErr: `invalid label name "1abc"`},
		{in: `a!b="x"`, wantErr: `matcher "a!b=\"x\"": unknown operator`},
		{in: `a="unterminated`, wantErr: `bad quoted value`},
		{in: `a=it's`, wantErr: `quote it with double quotes`},
		{in: `a=~"(unclosed"`, wantErr: `compile regexp "(unclosed"`},
	}
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			t.Parallel()
			m, err := ParseMatcher(c.in)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("got %v, %v; want error containing %q", m, err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseMatcher: %v", err)
			}
			if got := m.String(); got != c.want {
				t.Errorf("got %s, want %s", got, c.want)
			}
		})
	}
}

func TestMatchersMatch(t *testing.T) {
	t.Parallel()
	labels := alert.KV{"severity": "critical", "env": "prod", "job": "node-exporter"}
	cases := []struct {
		name     string
		matchers []string
		want     bool
	}{
		{"none matches all", nil, true},
		{"equal", []string{`severity="critical"`}, true},
		{"equal other value", []string{`severity="warning"`}, false},
		{"not equal", []string{`env!="dev"`}, true},
		{"missing label is empty", []string{`team=""`}, true},
		{"missing label not equal", []string{`team!="x"`}, true},
		{"regexp alternation", []string{`severity=~"critical|warning"`}, true},
		{"regexp is anchored at the start", []string{`job=~"exporter"`}, false},
		{"regexp is anchored at the end", []string{`job=~"node"`}, false},
		{"regexp anchoring wraps alternation", []string{`severity=~"crit|warn"`}, false},
		{"regexp full match", []string{`job=~"node-.*"`}, true},
		{"negative regexp", []string{`job!~"node-.*"`}, false},
		{"all must match", []string{`severity="critical"`, `env="dev"`}, false},
		{"all match", []string{`severity="critical"`, `env=~"prod|staging"`}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			var ms Matchers
			for _, s := range c.matchers {
				m, err := ParseMatcher(s)
				if err != nil {
					t.Fatal(err)
				}
				ms = append(ms, m)
			}
			if got := ms.Matches(labels); got != c.want {
				t.Errorf("%s.Matches(%v) = %t, want %t", ms, labels, got, c.want)
			}
		})
	}
}
