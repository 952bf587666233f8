package chatwork

import (
	"regexp"
	"strings"
	"testing"
)

// liveTagRE matches, in ASCII-lowered text, what Chatwork would parse as a
// tag. It is written independently of Neutralize's scanner.
var liveTagRE = regexp.MustCompile(`\[/?(to|toall|info|title|code|hr|qt|qtmeta|rp|picon|piconname|preview|download|task|dtext|deleted)([^a-z]|$)`)

// liveTag returns the first live Chatwork tag in s, or "". Chatwork folds
// only ASCII case, so "K" (the Kelvin sign) is not a "k".
func liveTag(s string) string {
	return liveTagRE.FindString(strings.Map(func(r rune) rune {
		if 'A' <= r && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return r
	}, s))
}

func TestNeutralize(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want string
	}{
		{"plain text", "disk full on db-1", "disk full on db-1"},
		{"toall", "[toall]", "［toall]"},
		{"mention with id", "[To:123] hi", "［To:123] hi"},
		{"closing info then mention", "[/info][To:1]", "［/info]［To:1]"},
		{"upper case", "[INFO][TITLE]x[/TITLE]", "［INFO]［TITLE]x［/TITLE]"},
		{"tag with attributes", "[rp aid=1 to=2-3][qtmeta aid=1]", "［rp aid=1 to=2-3]［qtmeta aid=1]"},
		{"picon", "[picon:42][piconname:42]", "［picon:42]［piconname:42]"},
		{"unterminated at end", "x[toall", "x［toall"},
		{"not a tag name", "[WARN] [information] [todo]", "[WARN] [information] [todo]"},
		{"brackets in PromQL", `rate(x[5m]) > 0 and y{a="[b]"}`, `rate(x[5m]) > 0 and y{a="[b]"}`},
		{"grafana value string", "[ var='B' value=1 ]", "[ var='B' value=1 ]"},
		{"double bracket", "[[toall]]", "[［toall]]"},
		{"already neutral", "［toall]", "［toall]"},
		{"lone bracket at end", "abc[", "abc["},
		{"slash only", "[/]", "[/]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := Neutralize(tt.in); got != tt.want {
				t.Errorf("Neutralize(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func FuzzNeutralize(f *testing.F) {
	for _, s := range []string{"[toall]", "[/info][To:1]", "[[to:1]", "[hr]", "a[/", "[Code]x", "\xff[info]", "[informal]"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := Neutralize(s)
		if m := liveTag(got); m != "" {
			t.Fatalf("Neutralize(%q) = %q, still holds live tag %q", s, got, m)
		}
		if again := Neutralize(got); again != got {
			t.Fatalf("Neutralize is not idempotent: %q -> %q -> %q", s, got, again)
		}
		// Only "[" may change, and only into "［".
		if back := strings.ReplaceAll(got, fullwidthBracket, "["); back != strings.ReplaceAll(s, fullwidthBracket, "[") {
			t.Fatalf("Neutralize(%q) = %q changed more than brackets", s, got)
		}
	})
}
