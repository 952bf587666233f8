package confyaml_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/relayhq/relay/internal/confyaml"
)

func TestLoadBoundsWhatAliasesAdd(t *testing.T) {
	t.Parallel()
	// block is a list of 999 items: 1,000 nodes with the list itself, so
	// each alias of it adds 1,000 and MaxAliasNodes/1000 of them reach the
	// bound exactly.
	items := strings.TrimSuffix(strings.Repeat("x, ", 999), ", ")
	copies := strings.TrimSuffix(strings.Repeat("*b, ", confyaml.MaxAliasNodes/1000), ", ")
	src := fmt.Sprintf("block: &b [%s]\none: &one y\ncopies: [%s]\n", items, copies)
	if _, err := confyaml.Load("relay.yml", []byte(src)); err != nil {
		t.Fatalf("aliases adding exactly %d nodes: %v", confyaml.MaxAliasNodes, err)
	}
	_, err := confyaml.Load("relay.yml", []byte(src+"more: *one\n"))
	wantError(t, err, 4, "more", fmt.Sprintf("aliases add more than %d nodes", confyaml.MaxAliasNodes))
}

// nestedMerges is a target whose merge keys each merge ten copies of the
// level below: a few hundred bytes that expand to 10^levels mappings.
func nestedMerges(levels int) string {
	s := "&a0 {sender: console, room: x}"
	for l := 1; l <= levels; l++ {
		s = fmt.Sprintf("&a%d {<<: [%s%s]}", l, s, strings.Repeat(fmt.Sprintf(", *a%d", l-1), 9))
	}
	return "routes:\n  r:\n    targets:\n      - " + s + "\n"
}

func TestLoadRefusesNestedMergesThatExplode(t *testing.T) {
	t.Parallel()
	if _, err := confyaml.Load("relay.yml", []byte(nestedMerges(3))); err != nil {
		t.Fatalf("three levels (1,110 mappings): %v", err)
	}
	_, err := confyaml.Load("relay.yml", []byte(nestedMerges(8)))
	wantError(t, err, 4, "routes.r.targets[0].<<[0].<<[0].<<[0].<<[1]", "aliases add more than")
}

func TestLoadRefusesAnAliasInsideItsAnchor(t *testing.T) {
	t.Parallel()
	_, err := confyaml.Load("relay.yml", []byte("routes:\n  r: &r\n    targets: [*r]\n"))
	wantError(t, err, 3, "routes.r.targets[0]", "alias *r refers to a node that contains it")
}

func TestLoadSyntaxAndDocuments(t *testing.T) {
	t.Parallel()
	n, err := confyaml.Load("relay.yml", nil)
	if err != nil || n.Y != nil {
		t.Errorf("empty file: %+v, %v; want an absent node", n, err)
	}
	_, err = confyaml.Load("relay.yml", []byte("a: 1\n---\nb: 2\n"))
	wantError(t, err, 2, "", "want one YAML document, found more")
	_, err = confyaml.Load("relay.yml", []byte("a: 1\nb: [2\n"))
	if e := asError(t, err); e.Line == 0 || e.File != "relay.yml" {
		t.Errorf("syntax error %q has no line", err)
	}
}

func TestDecodeChecksMergedMapEntries(t *testing.T) {
	t.Parallel()
	// A map's values are checked for unknown keys in the entries a merge
	// brings as well as in its own.
	src := `
shared: &shared
  slow: {count: 1, pre: 1s}
limits:
  <<: *shared
  fast: {count: 5, per: 1s}
`
	var m map[string]limit
	err := parse(t, src).Key("limits").Decode(&m)
	wantError(t, err, 3, "limits.slow.pre", "unknown key")
}
