package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/relayhq/relay/internal/alert"
	"github.com/relayhq/relay/internal/auth"
	"github.com/relayhq/relay/internal/secret"
	"github.com/relayhq/relay/internal/senders"
	"github.com/relayhq/relay/internal/senders/chatwork"
)

const examplePath = "../../examples/relay.yml"

// exampleEnv holds the variables examples/relay.yml names.
var exampleEnv = vars{
	"CHATWORK_OPS_TOKEN": "cw-ops-token", "CAM_OPS_TOKEN": "cam-ops-token",
	"OPS_TOKEN": "ops-bearer", "AM_PASS": "am-pass", "GRAFANA_WEBHOOK_SECRET": "g-secret",
	"GITHUB_WEBHOOK_SECRET": "gh-secret", "GITLAB_WEBHOOK_TOKEN": "gl-token",
}

func loadExample(t *testing.T) *File {
	t.Helper()
	f, err := Load(examplePath, testKinds, exampleEnv.get, os.ReadFile)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return f
}

func TestParseExample(t *testing.T) {
	t.Parallel()
	f := loadExample(t)

	if want := []string{filepath.Join("../../examples", "templates")}; !slices.Equal(f.Templates, want) {
		t.Errorf("Templates = %q, want %q", f.Templates, want)
	}
	cw := f.Senders["chatwork-ops"]
	if cw == nil {
		t.Fatal("sender chatwork-ops missing")
	}
	wantSettings := chatwork.Kind{}.Defaults()
	if cw.Name != "chatwork-ops" || cw.Kind.Name() != "chatwork" || !reflect.DeepEqual(cw.Settings, wantSettings) ||
		cw.Host != "api.chatwork.com" || cw.Scope != "chatwork" ||
		cw.TokenKey != senders.TokenKey("chatwork", "https://api.chatwork.com/v2", secret.New("cw-ops-token")) ||
		len(cw.Secrets) != 1 || cw.Secrets[0].Reveal() != "cw-ops-token" {
		t.Errorf("chatwork-ops = %+v", *cw)
	}
	cam := f.Senders["cam"]
	if cam == nil || cam.Kind.Name() != "chatmessenger" || cam.Host != "cam.example.com" ||
		len(cam.Secrets) != 1 || cam.Secrets[0].Reveal() != "cam-ops-token" || cam.MaxChars != 20000 || cam.Destination.Enabled() {
		t.Errorf("cam = %+v", cam)
	}

	ops := f.Routes["ops"]
	if ops == nil || len(ops.Targets) != 2 {
		t.Fatalf("route ops = %+v", ops)
	}
	if ops.Auth == nil || ops.Auth.Bearer.Reveal() != "ops-bearer" || ops.Auth.BasicUser != "alertmanager" ||
		ops.Auth.BasicPassword.Reveal() != "am-pass" {
		t.Errorf("ops auth = %+v", ops.Auth)
	}
	t0 := ops.Targets[0]
	critical := &alert.Data{Status: "firing", Alerts: alert.Alerts{{Status: "firing",
		Labels: alert.KV{"severity": "critical", "chatwork_to": "2222, 9999"}}}}
	if addr, prefix := t0.Dest.Resolve(critical); t0.Sender != "chatwork-ops" || t0.Kind.Name() != "chatwork" ||
		addr != "room/123456" || prefix != "[To:1111][To:2222]\n" {
		t.Errorf("ops target 0 = %+v: address %q, prefix %q", t0, addr, prefix)
	}
	if got := t0.Matchers.String(); got != `{severity=~"critical|warning", env!="dev"}` {
		t.Errorf("matchers = %s", got)
	}
	warning := &alert.Data{Status: "firing", Alerts: alert.Alerts{{Status: "firing", Labels: alert.KV{"severity": "warning"}}}}
	if _, prefix := t0.Dest.Resolve(warning); prefix != "" {
		t.Errorf("a warning mentions %q; when allows critical only", prefix)
	}
	t1 := ops.Targets[1]
	if addr, _ := t1.Dest.Resolve(critical); t1.Sender != "cam" || addr != "panel/messenger?users=oncall@example.com" {
		t.Errorf("ops target 1 = %+v: address %q", t1, addr)
	}

	g := f.Routes["grafana"]
	wantHMAC := &auth.GrafanaHMAC{Secret: secret.New("g-secret"), Header: "X-Grafana-Alerting-Signature",
		TimestampHeader: "X-Grafana-Alerting-Timestamp", MaxSkew: 5 * time.Minute}
	if g == nil || g.Auth == nil || !reflect.DeepEqual(g.Auth.GrafanaHMAC, wantHMAC) {
		t.Errorf("grafana auth = %+v", g)
	}
	if g.Targets[0].Sender != "chatwork" || g.Targets[0].Template != "grafana-chatwork" {
		t.Errorf("grafana target = %+v", g.Targets[0])
	}
	ci := f.Routes["ci"]
	if ci.Auth.GitHubSecret.Reveal() != "gh-secret" || ci.Auth.GitLabToken.Reveal() != "gl-token" {
		t.Errorf("ci auth = %+v", ci.Auth)
	}
}

func TestParseSecretFromFile(t *testing.T) {
	t.Parallel()
	src := "senders:\n  cw:\n    type: chatwork\n    token_file: secrets/cw\n"
	fsys := files{filepath.Join("/etc/relay", "secrets/cw"): "file-token\n"}
	f, err := Parse("/etc/relay/relay.yml", []byte(src), testKinds, vars{}.get, fsys.read)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if got := f.Senders["cw"].Secrets[0].Reveal(); got != "file-token" {
		t.Errorf("token = %q, want %q", got, "file-token")
	}
}

func TestParseEmptyFile(t *testing.T) {
	t.Parallel()
	for _, src := range []string{"", "# only a comment\n", "{}\n"} {
		f, err := Parse("relay.yml", []byte(src), testKinds, vars{}.get, files{}.read)
		if err != nil || len(f.Routes) != 0 || len(f.Senders) != 0 {
			t.Errorf("Parse(%q) = %+v, %v; want an empty file", src, f, err)
		}
	}
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	env := vars{"CW": "cw-secret-value", "CAM": "cam-secret-value"}
	const cwSender = "senders:\n  cw:\n    type: chatwork\n    token_env: CW\n"
	cases := []struct {
		name string
		src  string
		want string // the whole error
	}{
		{"yaml syntax", "routes:\n  ops: [\n", "relay.yml:2: did not find expected node content"},
		{"top level not a mapping", "- a\n", "relay.yml:1: want a mapping, got a list"},
		{"unknown top key", "route:\n  ops: {}\n", `relay.yml:1: route: unknown key (want one of routes, senders, templates)`},
		{"two documents", "routes: {}\n---\nroutes: {}\n", "relay.yml:2: want one YAML document, found more"},
		{"duplicate route", "routes:\n  ops:\n    targets: [{sender: console}]\n  ops:\n    targets: [{sender: console}]\n",
			"relay.yml:4: routes.ops: duplicate name (first at line 2)"},
		{"duplicate key", "routes:\n  ops:\n    targets: [{sender: console}]\n    targets: [{sender: console}]\n",
			"relay.yml:4: routes.ops.targets: duplicate key (first at line 3)"},
		{"unknown sender", cwSender + "routes:\n  ops:\n    targets:\n      - sender: console\n      - room: '1'\n        sender: cwx\n",
			`relay.yml:10: routes.ops.targets[1]: unknown sender "cwx"`},
		{"literal token", "senders:\n  cw:\n    type: chatwork\n    token: abc\n",
			"relay.yml:4: senders.cw.token: a literal secret is not allowed in the routes file; use token_env or token_file"},
		{"literal bearer token", "routes:\n  ops:\n    auth: {bearer_token: abc}\n    targets: [{sender: console}]\n",
			"relay.yml:3: routes.ops.auth.bearer_token: a literal secret is not allowed in the routes file; use bearer_token_env or bearer_token_file"},
		{"empty env var", "senders:\n  cw:\n    type: chatwork\n    token_env: NOT_SET\n",
			"relay.yml:4: senders.cw.token_env: environment variable NOT_SET is empty or unset"},
		{"token env and file", "senders:\n  cw:\n    type: chatwork\n    token_env: CW\n    token_file: /x\n",
			"relay.yml:5: senders.cw.token_file: set token_env or token_file, not both"},
		{"missing token file", "senders:\n  cw:\n    type: chatwork\n    token_file: /run/none\n",
			"relay.yml:4: senders.cw.token_file: read secret file: open /run/none: file does not exist"},
		{"no token", "senders:\n  cw:\n    type: chatwork\n",
			"relay.yml:2: senders.cw: token_env or token_file is required for a chatwork sender"},
		{"unknown type", "senders:\n  cw:\n    type: slack\n", `relay.yml:3: senders.cw.type: unknown sender type "slack": want chatmessenger, chatwork or console`},
		{"built-in name", "senders:\n  chatwork:\n    type: chatwork\n    token_env: CW\n",
			`relay.yml:2: senders.chatwork: "chatwork" is the name of a built-in sender; pick another name`},
		{"bad sender name", "senders:\n  cw/1:\n    type: console\n", "relay.yml:2: senders.cw/1: invalid name: use letters, digits, '_', '.' and '-'"},
		{"cam without url", "senders:\n  cam:\n    type: chatmessenger\n    token_env: CAM\n",
			"relay.yml:2: senders.cam: url is required for a chatmessenger sender"},
		{"chatwork with url", "senders:\n  cw:\n    type: chatwork\n    url: https://x\n    token_env: CW\n",
			"relay.yml:4: senders.cw.url: unknown key (want one of api_url, token_env, token_file)"},
		{"bad api url", "senders:\n  cw:\n    type: chatwork\n    api_url: api.chatwork.com\n    token_env: CW\n",
			`relay.yml:4: senders.cw.api_url: want an absolute http(s) URL, got "api.chatwork.com"`},
		{"zero limit", cwSender + "    limits: {room: {count: 0, per: 10s}}\n",
			"relay.yml:5: senders.cw.limits.room.count: count must be a positive integer"},
		{"bad duration", cwSender + "    limits: {token: {count: 3, per: 5 minutes}}\n",
			`relay.yml:5: senders.cw.limits.token.per: want a duration such as 250ms, 10s or 5m, got "5 minutes"`},
		{"margin over window", cwSender + "    limits: {room: {count: 10, per: 1s}, margin: 2s}\n",
			"relay.yml:5: senders.cw.limits.margin: margin 2s must be shorter than the window 1s"},
		{"chatwork max chars", cwSender + "    max_chars: 70000\n",
			"relay.yml:5: senders.cw.max_chars: a chatwork sender takes at most 65535 characters, got 70000"},
		{"destination limit on chatwork", cwSender + "    limits: {destination: {count: 1, per: 1s}}\n",
			"relay.yml:5: senders.cw.limits.destination: unknown key: this sender's destination limit is room"},
		{"room limit on cam", "senders:\n  cam:\n    type: chatmessenger\n    url: https://cam\n    token_env: CAM\n    limits: {room: {count: 1, per: 1s}}\n",
			"relay.yml:6: senders.cam.limits.room: unknown key: this sender's destination limit is destination"},
		{"count not an integer", cwSender + "    limits: {room: {count: many, per: 1s}}\n",
			`relay.yml:5: senders.cw.limits.room.count: want an integer, got "many"`},
		{"cam user with a comma", "routes:\n  ops:\n    targets:\n      - sender: chatmessenger\n        panel: ops\n        users: ['a,b@x']\n",
			`relay.yml:6: routes.ops.targets[0].users: a user may not hold '?', '&' or ',', got "a,b@x"`},
		{"route without targets", "routes:\n  ops: {}\n", "relay.yml:2: routes.ops: a route needs at least one target"},
		{"chatwork room not digits", "routes:\n  ops:\n    targets:\n      - sender: chatwork\n        room: ops-room\n",
			`relay.yml:5: routes.ops.targets[0].room: chatwork room id must be a positive integer of at most 18 digits, got "ops-room"`},
		{"chatwork room missing", "routes:\n  ops:\n    targets:\n      - sender: chatwork\n",
			"relay.yml:4: routes.ops.targets[0]: room is required for a chatwork target"},
		{"chatwork with panel", "routes:\n  ops:\n    targets:\n      - sender: chatwork\n        room: 1\n        panel: x\n",
			"relay.yml:6: routes.ops.targets[0].panel: unknown key (want one of mentions, on_resolve, room, task)"},
		{"cam without panel", "routes:\n  ops:\n    targets:\n      - sender: chatmessenger\n        users: [a@x]\n",
			"relay.yml:4: routes.ops.targets[0]: panel is required for a chatmessenger target: messenger or a room name"},
		{"messenger without users", "routes:\n  ops:\n    targets:\n      - sender: chatmessenger\n        panel: messenger\n",
			"relay.yml:4: routes.ops.targets[0]: panel messenger sends direct messages and needs users"},
		{"bad matcher", "routes:\n  ops:\n    targets:\n      - sender: console\n        matchers:\n          - 'a=\"b\"'\n          - 'severity=~\"(\"'\n",
			"relay.yml:7: routes.ops.targets[0].matchers[1]: matcher \"severity=~\\\"(\\\"\": compile regexp \"(\": error parsing regexp: missing closing ): `^(?:()$`"},
		{"unknown target key", "routes:\n  ops:\n    targets:\n      - sender: console\n        rooms: 1\n",
			`relay.yml:5: routes.ops.targets[0].rooms: unknown key "rooms": a console target takes only sender, template and matchers`},
		{"sealed not a bool", "routes:\n  ops:\n    targets:\n      - sender: chatmessenger\n        panel: ops\n        sealed: maybe\n",
			`relay.yml:6: routes.ops.targets[0].sealed: want true or false, got "maybe"`},
		{"chatwork id not digits", "routes:\n  ops:\n    targets:\n      - sender: chatwork\n        room: 1\n        mentions: {to: [alice]}\n",
			`relay.yml:6: routes.ops.targets[0].mentions.to: Chatwork account ids are digits, got "alice"`},
		{"from label without allowlist", "routes:\n  ops:\n    targets:\n      - sender: chatwork\n        room: 1\n        mentions:\n          from_label: chatwork_to\n",
			"relay.yml:7: routes.ops.targets[0].mentions.from_label: from_label needs allow: the ids or users the label may mention"},
		{"toall for cam", "routes:\n  ops:\n    targets:\n      - sender: chatmessenger\n        panel: ops\n        mentions: {toall: true}\n",
			"relay.yml:6: routes.ops.targets[0].mentions.toall: unknown key (want one of allow, from_label, when)"},
		{"unknown when status", "routes:\n  ops:\n    targets:\n      - sender: chatwork\n        room: 1\n        mentions: {to: [1], when: {status: [pending]}}\n",
			`relay.yml:6: routes.ops.targets[0].mentions.when.status: unknown status "pending": want firing or resolved`},
		{"empty auth", "routes:\n  ops:\n    auth: {}\n    targets: [{sender: console}]\n",
			"relay.yml:3: routes.ops.auth: auth configures no method; remove it to use RELAY_AUTH_TOKEN"},
		{"basic without password", "routes:\n  ops:\n    auth:\n      basic: {username: am}\n    targets: [{sender: console}]\n",
			"relay.yml:4: routes.ops.auth.basic: basic auth needs username and password_env or password_file"},
		{"hmac without secret", "routes:\n  ops:\n    auth:\n      grafana_hmac: {header: X-Sig}\n    targets: [{sender: console}]\n",
			"relay.yml:4: routes.ops.auth.grafana_hmac: grafana_hmac needs secret_env or secret_file"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			f, err := Parse("relay.yml", []byte(c.src), testKinds, env.get, files{}.read)
			if err == nil {
				t.Fatalf("Parse succeeded with %+v; want error %q", f, c.want)
			}
			if got := err.Error(); got != c.want {
				t.Errorf("got  %s\nwant %s", got, c.want)
			}
			var ce *Error
			if !errors.As(err, &ce) {
				t.Errorf("error %T is not a *config.Error", err)
			}
			if strings.Contains(err.Error(), "secret-value") {
				t.Errorf("error reveals a secret: %v", err)
			}
		})
	}
}

func TestParseAnchorsAndMergeKeys(t *testing.T) {
	t.Parallel()
	src := `x-page: &page
  sender: chatwork
  mentions: {to: [1]}
`
	_, err := Parse("relay.yml", []byte(src), testKinds, vars{}.get, files{}.read)
	if err == nil || !strings.Contains(err.Error(), "relay.yml:1: x-page: unknown key") {
		t.Fatalf("got %v, want an unknown top-level key", err)
	}
	src = `routes:
  a:
    targets:
      - &page
        sender: chatwork
        room: "1"
        mentions: {to: [1]}
      - <<: *page
        room: "2"
  b:
    targets: [*page]
`
	f, err := Parse("relay.yml", []byte(src), testKinds, vars{}.get, files{}.read)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	firing := &alert.Data{Status: "firing"}
	a1 := f.Routes["a"].Targets[1]
	if addr, prefix := a1.Dest.Resolve(firing); a1.Sender != "chatwork" || addr != "room/2" || prefix != "[To:1]\n" {
		t.Errorf("merged target = %+v (%q, %q), want chatwork room 2 mentioning 1", a1, addr, prefix)
	}
	if addr, _ := f.Routes["b"].Targets[0].Dest.Resolve(firing); addr != "room/1" {
		t.Errorf("aliased target address = %q, want room/1", addr)
	}
}

// TestParseTemplates: templates takes one directory, file or glob, or a
// list of them, each relative to the routes file, in order.
func TestParseTemplates(t *testing.T) {
	t.Parallel()
	cases := []struct {
		src  string
		want []string
	}{
		{"templates: tmpl\n", []string{"/etc/relay/tmpl"}},
		{"templates: [a/*.tmpl, /abs/b/*.tpl, c/one.txt]\n", []string{"/etc/relay/a/*.tmpl", "/abs/b/*.tpl", "/etc/relay/c/one.txt"}},
		{"templates:\n  - /etc/alertmanager/templates/default.tmpl\n  - mine\n", []string{"/etc/alertmanager/templates/default.tmpl", "/etc/relay/mine"}},
		{"templates: []\n", []string{}},
	}
	for _, c := range cases {
		f, err := Parse("/etc/relay/relay.yml", []byte(c.src), testKinds, vars{}.get, files{}.read)
		if err != nil {
			t.Fatalf("Parse(%q): %v", c.src, err)
		}
		if !slices.Equal(f.Templates, c.want) {
			t.Errorf("Parse(%q): Templates = %q, want %q", c.src, f.Templates, c.want)
		}
	}
	for src, want := range map[string]string{
		"templates: {a: b}\n":    `relay.yml:1: templates: want a list, got a mapping`,
		"templates: [a, \"\"]\n": `relay.yml:1: templates: want a directory, file or glob, got an empty value`,
	} {
		_, err := Parse("relay.yml", []byte(src), testKinds, vars{}.get, files{}.read)
		if err == nil || err.Error() != want {
			t.Errorf("Parse(%q) = %v, want %s", src, err, want)
		}
	}
}
