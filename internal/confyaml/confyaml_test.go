package confyaml_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/relayhq/relay/internal/confyaml"
)

// parse returns the top-level node of src as the file relay.yml.
func parse(t *testing.T, src string) confyaml.Node {
	t.Helper()
	n, err := confyaml.Load("relay.yml", []byte(src))
	if err != nil {
		t.Fatalf("parse YAML: %v", err)
	}
	return n
}

// asError returns err as a *confyaml.Error, failing the test otherwise.
func asError(t *testing.T, err error) *confyaml.Error {
	t.Helper()
	var e *confyaml.Error
	if !errors.As(err, &e) {
		t.Fatalf("got %v (%T), want a *confyaml.Error", err, err)
	}
	return e
}

// wantError checks err is a *confyaml.Error at line and path whose reason
// holds every one of reasons.
func wantError(t *testing.T, err error, line int, path string, reasons ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want one at line %d, %s", line, path)
	}
	e := asError(t, err)
	if e.File != "relay.yml" || e.Line != line || e.Path != path {
		t.Errorf("error %q is at %s:%d %q, want relay.yml:%d %q", err, e.File, e.Line, e.Path, line, path)
	}
	for _, r := range reasons {
		if !strings.Contains(e.Reason, r) {
			t.Errorf("error %q does not say %q", err, r)
		}
	}
}

type limit struct {
	Count int               `yaml:"count"`
	Per   confyaml.Duration `yaml:"per"`
}

type sender struct {
	Type      confyaml.String `yaml:"type"`
	URL       confyaml.String `yaml:"url"`
	TokenEnv  confyaml.String `yaml:"token_env"`
	TokenFile confyaml.String `yaml:"token_file"`
	Fold      bool            `yaml:"fold"`
	Limits    struct {
		Room limit `yaml:"room"`
	} `yaml:"limits"`
	Rooms   confyaml.List `yaml:"rooms"`
	Targets []struct {
		Room confyaml.String `yaml:"room"`
	} `yaml:"targets"`
}

func TestErrorString(t *testing.T) {
	t.Parallel()
	cases := []struct {
		e    confyaml.Error
		want string
	}{
		{confyaml.Error{File: "relay.yml", Line: 14, Path: "routes.ops.targets[1]", Reason: `unknown sender "cw"`}, `relay.yml:14: routes.ops.targets[1]: unknown sender "cw"`},
		{confyaml.Error{File: "relay.yml", Line: 3, Reason: "want a mapping"}, "relay.yml:3: want a mapping"},
		{confyaml.Error{File: "relay.yml", Reason: "unreadable"}, "relay.yml: unreadable"},
	}
	for _, c := range cases {
		if got := c.e.Error(); got != c.want {
			t.Errorf("got %q, want %q", got, c.want)
		}
	}
}

func TestDecode(t *testing.T) {
	t.Parallel()
	n := parse(t, `
senders:
  cw:
    type: " chatwork "
    token_env: CW_TOKEN
    fold: true
    limits:
      room: {count: 5, per: 10s}
    rooms: 42
    targets:
      - room: 1
      - room: "2"
`)
	var s sender
	if err := n.Key("senders").Key("cw").Decode(&s); err != nil {
		t.Fatalf("Decode: %v", err)
	}
	if s.Type != "chatwork" || s.TokenEnv != "CW_TOKEN" || !s.Fold {
		t.Errorf("got %+v, want type chatwork (trimmed), token_env and fold", s)
	}
	if s.Limits.Room != (limit{Count: 5, Per: confyaml.Duration(10 * time.Second)}) {
		t.Errorf("got limits %+v, want 5 per 10s", s.Limits.Room)
	}
	if !reflect.DeepEqual(s.Rooms, confyaml.List{"42"}) {
		t.Errorf("got rooms %q, want the single value as a list", s.Rooms)
	}
	if len(s.Targets) != 2 || s.Targets[0].Room != "1" || s.Targets[1].Room != "2" {
		t.Errorf("got targets %+v, want rooms 1 and 2", s.Targets)
	}
}

func TestDecodeNullOrAbsentLeavesValue(t *testing.T) {
	t.Parallel()
	n := parse(t, "a: ~\n")
	for _, node := range []confyaml.Node{n.Key("a"), n.Key("missing"), parse(t, "")} {
		s := sender{Type: "kept"}
		if err := node.Decode(&s); err != nil {
			t.Fatalf("Decode(%s): %v", node.Path, err)
		}
		if s.Type != "kept" {
			t.Errorf("Decode(%s) changed the value to %+v", node.Path, s)
		}
	}
}

func TestDecodeRefusesUnknownKeys(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, src string
		line      int
		path      string
		reasons   []string
	}{
		{
			name:    "top level",
			src:     "type: chatwork\nroom: 42\n",
			line:    2,
			path:    "senders.cw.room",
			reasons: []string{"unknown key", "want one of", "rooms", "token_env"},
		},
		{
			name:    "nested mapping",
			src:     "type: chatwork\nlimits:\n  room:\n    count: 3\n    pre: 10s\n",
			line:    5,
			path:    "senders.cw.limits.room.pre",
			reasons: []string{"unknown key (want one of count, per)"},
		},
		{
			name:    "list item",
			src:     "targets:\n  - room: 1\n  - rom: 2\n",
			line:    3,
			path:    "senders.cw.targets[1].rom",
			reasons: []string{"unknown key (want one of room)"},
		},
		{
			name:    "literal secret",
			src:     "type: chatwork\ntoken: s3cr3t\n",
			line:    2,
			path:    "senders.cw.token",
			reasons: []string{"a literal secret is not allowed in the routes file; use token_env or token_file"},
		},
		{
			name:    "duplicate key",
			src:     "type: chatwork\nurl: a\ntype: cam\n",
			line:    3,
			path:    "senders.cw.type",
			reasons: []string{"duplicate key (first at line 3)"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			n := parse(t, "senders:\n  cw:\n"+indent(tt.src, "    "))
			var s sender
			err := n.Key("senders").Key("cw").Decode(&s)
			wantError(t, err, tt.line+2, tt.path, tt.reasons...)
			if err != nil && strings.Contains(err.Error(), "s3cr3t") {
				t.Errorf("error %q repeats the literal secret", err)
			}
		})
	}
}

func TestDecodeLiteralSecretHintNeedsEnvField(t *testing.T) {
	t.Parallel()
	// "url" has no url_env field: a plain unknown key, no secret hint.
	var v struct {
		Name confyaml.String `yaml:"name"`
	}
	err := parse(t, "name: x\nurl: y\n").Decode(&v)
	wantError(t, err, 2, "url", "unknown key")
	if strings.Contains(err.Error(), "literal secret") {
		t.Errorf("error %q hints at a secret for a key without _env", err)
	}
}

func TestDecodeInlineMapTakesAnyKey(t *testing.T) {
	t.Parallel()
	var v struct {
		Name  confyaml.String   `yaml:"name"`
		Extra map[string]string `yaml:",inline"`
	}
	if err := parse(t, "name: a\nlabel: b\n").Decode(&v); err != nil {
		t.Fatalf("Decode: %v", err)
	}
	if v.Name != "a" || v.Extra["label"] != "b" {
		t.Errorf("got %+v, want name a and label b inline", v)
	}
}

func TestDecodeInlineStruct(t *testing.T) {
	t.Parallel()
	type Common struct {
		FromLabel string `yaml:"from_label"`
	}
	var v struct {
		To     confyaml.List `yaml:"to"`
		Common `yaml:",inline"`
	}
	if err := parse(t, "to: 1\nfrom_label: team\n").Decode(&v); err != nil {
		t.Fatalf("Decode: %v", err)
	}
	if v.FromLabel != "team" || !reflect.DeepEqual(v.To, confyaml.List{"1"}) {
		t.Errorf("got %+v, want the inline key decoded", v)
	}
	err := parse(t, "to: 1\nfrom_lable: team\n").Decode(&v)
	wantError(t, err, 2, "from_lable", "unknown key (want one of from_label, to)")
}

func TestDecodeMergeKeys(t *testing.T) {
	t.Parallel()
	src := `
defaults: &defaults
  type: chatwork
  token_env: CW_TOKEN
more: &more
  fold: true
senders:
  a:
    <<: *defaults
    url: https://a.example
  b:
    <<: [*defaults, *more]
    type: override
`
	n := parse(t, src)
	var a, b sender
	if err := n.Key("senders").Key("a").Decode(&a); err != nil {
		t.Fatalf("Decode(a): %v", err)
	}
	if a.Type != "chatwork" || a.TokenEnv != "CW_TOKEN" || a.URL != "https://a.example" {
		t.Errorf("got a = %+v, want the merged keys and its own", a)
	}
	if err := n.Key("senders").Key("b").Decode(&b); err != nil {
		t.Fatalf("Decode(b): %v", err)
	}
	if b.Type != "override" || b.TokenEnv != "CW_TOKEN" || !b.Fold {
		t.Errorf("got b = %+v, want both merges with its own type winning", b)
	}
}

func TestDecodeMergedUnknownKey(t *testing.T) {
	t.Parallel()
	// A key that names no field is refused in a merged mapping too, at the
	// line where it is written.
	src := `
defaults: &defaults
  type: chatwork
  romm: 42
senders:
  a:
    <<: *defaults
    url: https://a.example
`
	var s sender
	err := parse(t, src).Key("senders").Key("a").Decode(&s)
	wantError(t, err, 4, "senders.a.romm", "unknown key")
}

func TestKeySeesMergedKeys(t *testing.T) {
	t.Parallel()
	n := parse(t, "d: &d\n  room: 42\nt:\n  <<: *d\n  sender: cw\n").Key("t")
	if got := n.Key("room"); got.Y == nil || got.Y.Value != "42" {
		t.Errorf("Key(room) = %+v, want the merged value 42", got.Y)
	}
	rest := n.Without("sender")
	var v struct {
		Room confyaml.String `yaml:"room"`
	}
	if err := rest.Decode(&v); err != nil || v.Room != "42" {
		t.Errorf("Without(sender).Decode = %+v, %v; want room 42 from the merge", v, err)
	}
}

func TestDecodeTypeErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, src string
		line      int
		path      string
		reason    string
	}{
		{"string for an integer", "limits:\n  room:\n    count: x\n", 3, "limits.room.count", `want an integer, got "x"`},
		{"mapping for an integer", "limits:\n  room:\n    count: {a: 1}\n", 3, "limits.room.count", "want an integer, got a mapping"},
		{"string for a bool", "fold: maybe\n", 1, "fold", `want true or false, got "maybe"`},
		{"list for a string", "url:\n  - a\n", 2, "url", "want a single value, got a list"},
		{"mapping for a list", "rooms: {a: 1}\n", 1, "rooms", "want a list, got a mapping"},
		{"mapping in a list", "rooms:\n  - 1\n  - {a: 1}\n", 3, "rooms[1]", "want a single value in the list, got a mapping"},
		{"bad duration", "limits:\n  room:\n    per: soon\n", 3, "limits.room.per", `want a duration such as 250ms, 10s or 5m, got "soon"`},
		{"list for a duration", "limits:\n  room:\n    per: [1s]\n", 3, "limits.room.per", "want a duration such as 250ms, 10s or 5m, got a list"},
		{"scalar for a mapping", "limits: 3\n", 1, "limits", `want a mapping, got "3"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var s sender
			err := parse(t, tt.src).Decode(&s)
			wantError(t, err, tt.line, tt.path, tt.reason)
		})
	}
}

func TestList(t *testing.T) {
	t.Parallel()
	tests := []struct {
		src  string
		want confyaml.List
	}{
		{"v: a", confyaml.List{"a"}},
		{"v: ' a '", confyaml.List{"a"}},
		{"v: [a, ' b ', 3]", confyaml.List{"a", "b", "3"}},
		{"v: []", confyaml.List{}},
		{"v: ~", nil},
	}
	for _, tt := range tests {
		var v struct {
			V confyaml.List `yaml:"v"`
		}
		if err := parse(t, tt.src).Decode(&v); err != nil {
			t.Errorf("%s: %v", tt.src, err)
			continue
		}
		if !reflect.DeepEqual(v.V, tt.want) {
			t.Errorf("%s: got %#v, want %#v", tt.src, v.V, tt.want)
		}
	}
	var v struct {
		V confyaml.List `yaml:"v"`
	}
	wantError(t, parse(t, "v: [a, ~]").Decode(&v), 1, "v[1]", "want a single value in the list, got null")
}

func TestDuration(t *testing.T) {
	t.Parallel()
	for src, want := range map[string]time.Duration{"250ms": 250 * time.Millisecond, "10s": 10 * time.Second, " 5m ": 5 * time.Minute, "0s": 0} {
		var v struct {
			D confyaml.Duration `yaml:"d"`
		}
		if err := parse(t, "d: '"+src+"'").Decode(&v); err != nil {
			t.Errorf("%q: %v", src, err)
			continue
		}
		if time.Duration(v.D) != want {
			t.Errorf("%q: got %v, want %v", src, time.Duration(v.D), want)
		}
	}
	var v struct {
		D confyaml.Duration `yaml:"d"`
	}
	wantError(t, parse(t, "d: 10").Decode(&v), 1, "d", `got "10"`)
}

func TestString(t *testing.T) {
	t.Parallel()
	var v struct {
		S confyaml.String `yaml:"s"`
		N confyaml.String `yaml:"n"`
	}
	v.N = "kept"
	if err := parse(t, "s: '  padded  '\nn: ~\n").Decode(&v); err != nil {
		t.Fatal(err)
	}
	if v.S != "padded" {
		t.Errorf("got %q, want the value trimmed", v.S)
	}
	if v.N != "kept" {
		t.Errorf("got %q for null, want the value left as it was", v.N)
	}
	wantError(t, parse(t, "s:\n  a: 1\n").Decode(&v), 2, "s", "want a single value, got a mapping")
}

func TestWithout(t *testing.T) {
	t.Parallel()
	n := parse(t, "sender: cw\ntemplate: t\nroom: 42\nmentions:\n  to: 1\n")
	rest := n.Without("sender", "template")
	var v struct {
		Room     confyaml.String `yaml:"room"`
		Mentions struct {
			To confyaml.List `yaml:"to"`
		} `yaml:"mentions"`
	}
	if err := rest.Decode(&v); err != nil {
		t.Fatalf("Decode: %v", err)
	}
	if v.Room != "42" || !reflect.DeepEqual(v.Mentions.To, confyaml.List{"1"}) {
		t.Errorf("got %+v, want room and mentions", v)
	}
	// The node given is unchanged, and what is left keeps its lines.
	if n.Key("sender").Y == nil {
		t.Error("Without changed the node it was called on")
	}
	if got := rest.Key("sender"); got.Y != nil {
		t.Errorf("Key(sender) after Without = %q, want absent", got.Y.Value)
	}
	if got := rest.Key("room").Line(); got != 3 {
		t.Errorf("room is at line %d after Without, want 3", got)
	}
	var strict struct {
		Room confyaml.String `yaml:"room"`
	}
	wantError(t, rest.Decode(&strict), 4, "mentions", "unknown key")
	// Anything but a mapping comes back as it is.
	scalar := parse(t, "x").Without("x")
	if scalar.Y == nil || scalar.Y.Value != "x" {
		t.Errorf("Without on a scalar = %+v, want the scalar", scalar.Y)
	}
}

func TestNodeNavigation(t *testing.T) {
	t.Parallel()
	n := parse(t, "routes:\n  ops:\n    targets:\n      - room: 1\n      - ~\n")
	targets := n.Key("routes").Key("ops").Key("targets")
	if targets.Path != "routes.ops.targets" || targets.Line() != 3 {
		t.Errorf("targets at %q line %d, want routes.ops.targets line 3", targets.Path, targets.Line())
	}
	first := targets.Index(0)
	if first.Path != "routes.ops.targets[0]" || first.Key("room").Y.Value != "1" {
		t.Errorf("first target %q %+v, want routes.ops.targets[0] with room 1", first.Path, first.Y)
	}
	if !targets.Index(1).IsNull() || !targets.Index(7).IsNull() {
		t.Error("a null item and a missing item should be null")
	}
	// An absent key points at the mapping that lacks it.
	missing := first.Key("sender")
	if missing.Y != nil || missing.Path != "routes.ops.targets[0].sender" || missing.Line() != 4 {
		t.Errorf("absent key: %+v at %q line %d, want nil at routes.ops.targets[0].sender line 4", missing.Y, missing.Path, missing.Line())
	}
	err := missing.Errorf("sender is required")
	wantError(t, err, 4, "routes.ops.targets[0].sender", "sender is required")
}

// indent prefixes every non-empty line of s.
func indent(s, prefix string) string {
	lines := strings.SplitAfter(s, "\n")
	for i, l := range lines {
		if l != "" && l != "\n" {
			lines[i] = prefix + l
		}
	}
	return strings.Join(lines, "")
}
