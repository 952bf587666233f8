package chatwork_test

import (
	"context"
	"errors"
	"io/fs"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/relayhq/relay/internal/alert"
	"github.com/relayhq/relay/internal/confyaml"
	"github.com/relayhq/relay/internal/delivery"
	"github.com/relayhq/relay/internal/senders"
	"github.com/relayhq/relay/internal/senders/chatwork"
	"github.com/relayhq/relay/internal/senders/chatwork/chatworktest"
	"github.com/relayhq/relay/internal/senders/senderstest"
	"github.com/relayhq/relay/internal/templates"
)

// targetPrefix is a routes file up to a chatwork target whose keys follow
// from line 5; errors about the target are at line 4.
// targetNode is a chatwork target with the keys body, from line 5.
func targetNode(t *testing.T, body string) confyaml.Node {
	t.Helper()
	return senderstest.Target(t, "chatwork", body)
}

var wantError = senderstest.WantError

func TestKindDescribesItself(t *testing.T) {
	t.Parallel()
	k := chatwork.Kind{}
	if k.Name() != "chatwork" {
		t.Errorf("Name() = %q, want chatwork", k.Name())
	}
	d := k.Defaults()
	if d.Destination != (senders.Limit{Count: 10, Per: 10 * time.Second}) || d.LimitName != "room" ||
		d.Token != (senders.Limit{Count: 300, Per: 5 * time.Minute}) ||
		d.MaxChars != chatwork.MaxBodyLen || d.MaxCharsCap != chatwork.MaxBodyLen || !d.Fold || d.Separator != "\n[hr]\n" {
		t.Errorf("Defaults() = %+v, want Chatwork's documented limits", d)
	}
	n := k.Notation()
	if n.Defaults != "chatwork" || n.BlockOpen != "[info]" || n.BlockClose != "[/info]" || n.Neutralize == nil || n.Finish == nil {
		t.Errorf("Notation() = %+v, want the chatwork templates, [info] blocks, neutralised and disarmed", n)
	}
	if got := n.Neutralize("[toall]"); got != chatwork.Neutralize("[toall]") {
		t.Errorf("Notation().Neutralize = %q, want chatwork.Neutralize", got)
	}
	if got := n.Finish("[To:1]"); got != chatwork.DisarmMentions("[To:1]") {
		t.Errorf("Notation().Finish = %q, want chatwork.DisarmMentions", got)
	}
	if got := k.Describe(chatwork.Address("42")); got != "room 42" {
		t.Errorf("Describe = %q, want room 42", got)
	}
}

// TestKindTemplates: the embedded templates define chatwork.<payload kind>
// for every payload kind, and render in the kind's notation.
func TestKindTemplates(t *testing.T) {
	t.Parallel()
	k := chatwork.Kind{}
	if _, err := fs.Stat(k.Templates(), "templates/chatwork.tmpl"); err != nil {
		t.Fatalf("Templates(): %v", err)
	}
	tm, err := templates.New([]fs.FS{k.Templates()})
	if err != nil {
		t.Fatalf("templates.New: %v", err)
	}
	for _, d := range templates.Samples() {
		if name := "chatwork." + d.Kind; !tm.Has(name) {
			t.Errorf("no template %s", name)
		}
		got, err := tm.Render(k.Notation(), "", d)
		if err != nil {
			t.Errorf("Render(%s): %v", d.Kind, err)
			continue
		}
		if !strings.HasPrefix(got, "[info]") || !strings.HasSuffix(got, "[/info]") {
			t.Errorf("Render(%s) = %.40q, want one [info] block", d.Kind, got)
		}
		// A firing Alertmanager group links to its silence form, inside
		// the block.
		const silence = "\nSilence: http://alertmanager.example.com/#/silences/new?filter=%7Balertname%3D%22HighErrorRate%22%7D\n[/info]"
		if d.Kind == alert.KindAlertmanager && !strings.HasSuffix(got, silence) {
			t.Errorf("Render(%s) = %q, want it to end with the silence link", d.Kind, got)
		}
	}
}

func TestAddressAndRoom(t *testing.T) {
	t.Parallel()
	if got := chatwork.Address("42"); got != "room/42" {
		t.Errorf("Address(42) = %q, want room/42", got)
	}
	for addr, want := range map[string]string{"room/42": "42", "room/": "", "42": "", "panel/42": "", "": ""} {
		if got := chatwork.Room(addr); got != want {
			t.Errorf("Room(%q) = %q, want %q", addr, got, want)
		}
	}
}

func TestValidRoomID(t *testing.T) {
	t.Parallel()
	for id, want := range map[string]bool{
		"1": true, "42": true, "123456789": true, "999999999999999999": true,
		"": false, "0": false, "042": false, "-1": false, "+1": false, "1.5": false, "1e3": false,
		"abc": false, " 1": false, "1/2": false, "1234567890123456789": false, "４２": false,
	} {
		if got := chatwork.ValidRoomID(id); got != want {
			t.Errorf("ValidRoomID(%q) = %v, want %v", id, got, want)
		}
	}
}

func TestTarget(t *testing.T) {
	t.Parallel()
	for _, body := range []string{"room: 42\n", "room: '42'\n", "room: \" 42 \"\n"} {
		tg, err := chatwork.Kind{}.Target(targetNode(t, body))
		if err != nil {
			t.Errorf("%q: %v", body, err)
			continue
		}
		addr, prefix := tg.Resolve(&alert.Data{Status: alert.StatusFiring})
		if addr != "room/42" || prefix != "" {
			t.Errorf("%q: Resolve = %q, %q; want room/42 and no mentions", body, addr, prefix)
		}
	}
}

func TestTargetErrors(t *testing.T) {
	t.Parallel()
	const at = "routes.ops.targets[0]"
	tests := []struct {
		name, body string
		line       int
		path       string
		reason     string
	}{
		{"no room", "template: t\n", 4, at, "room is required for a chatwork target"},
		{"room not a number", "room: abc\n", 5, at + ".room", `positive integer of at most 18 digits, got "abc"`},
		{"room zero", "room: 0\n", 5, at + ".room", `got "0"`},
		{"room with a leading zero", "room: '042'\n", 5, at + ".room", `got "042"`},
		{"room too long", "room: 1234567890123456789\n", 5, at + ".room", `got "1234567890123456789"`},
		{"room a list", "room: [1]\n", 5, at + ".room", "want a single value, got a list"},
		{"unknown key", "room: 1\nrooms: 2\n", 6, at + ".rooms", "unknown key (want one of mentions, on_resolve, room, task)"},
		{"mention id not digits", "room: 1\nmentions:\n  to: [1, abc]\n", 7, at + ".mentions.to", `Chatwork account ids are digits, got "abc"`},
		{"allow id not digits", "room: 1\nmentions:\n  from_label: oncall\n  allow: alice\n", 8, at + ".mentions.allow", `Chatwork account ids are digits, got "alice"`},
		{"from_label without allow", "room: 1\nmentions:\n  from_label: oncall\n", 7, at + ".mentions.from_label", "from_label needs allow"},
		{"bad label name", "room: 1\nmentions:\n  from_label: on-call\n  allow: [1]\n", 7, at + ".mentions.from_label", `invalid label name "on-call"`},
		{"unknown status", "room: 1\nmentions:\n  to: 1\n  when:\n    status: pending\n", 9, at + ".mentions.when.status", `unknown status "pending"`},
		{"unknown mentions key", "room: 1\nmentions:\n  tooall: true\n", 7, at + ".mentions.tooall", "unknown key"},
		{"toall not a bool", "room: 1\nmentions:\n  toall: everyone\n", 7, at + ".mentions.toall", `want true or false, got "everyone"`},
		{"to a mapping", "room: 1\nmentions:\n  to: {a: 1}\n", 7, at + ".mentions.to", "want a list, got a mapping"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tg, err := chatwork.Kind{}.Target(targetNode(t, tt.body))
			if err == nil {
				t.Fatalf("Target = %+v, want an error", tg)
			}
			wantError(t, err, tt.line, tt.path, tt.reason)
		})
	}
}

func TestTargetMentions(t *testing.T) {
	t.Parallel()
	firing := func(labels ...alert.KV) *alert.Data {
		d := &alert.Data{Status: alert.StatusFiring}
		for _, l := range labels {
			d.Alerts = append(d.Alerts, alert.Alert{Status: alert.StatusFiring, Labels: l})
		}
		return d
	}
	critical := alert.KV{"severity": "critical"}
	resolved := &alert.Data{Status: alert.StatusResolved, Alerts: alert.Alerts{{Status: alert.StatusResolved, Labels: critical}}}
	tests := []struct {
		name, mentions string
		d              *alert.Data
		want           string
	}{
		{"fixed ids", "{to: [1, 2]}", firing(critical), "[To:1][To:2]\n"},
		{"a single id", "{to: 7}", firing(critical), "[To:7]\n"},
		{"the whole room", "{toall: true}", firing(critical), "[toall]\n"},
		{"toall wins over ids", "{to: 1, toall: true}", firing(critical), "[toall]\n"},
		{"none", "{}", firing(critical), ""},
		{"severity allowed", "{to: 1, when: {severity: critical}}", firing(critical), "[To:1]\n"},
		{"severity not allowed", "{to: 1, when: {severity: critical}}", firing(alert.KV{"severity": "warning"}), ""},
		{"status not allowed", "{to: 1, when: {status: firing}}", resolved, ""},
		{"status allowed", "{to: 1, when: {status: [firing, resolved]}}", resolved, "[To:1]\n"},
		{"no alerts: the common labels", "{to: 1, when: {severity: critical}}", &alert.Data{Status: alert.StatusFiring, CommonLabels: critical}, "[To:1]\n"},
		{"from a label, allowed ones only", "{from_label: oncall, allow: [3, 4]}", firing(alert.KV{"oncall": "3, 5,4"}), "[To:3][To:4]\n"},
		{"from a label, none allowed", "{from_label: oncall, allow: [3]}", firing(alert.KV{"oncall": "5"}), ""},
		{"fixed and from a label, once each", "{to: [3], from_label: oncall, allow: [3, 4]}", firing(alert.KV{"oncall": "4,3"}, alert.KV{"oncall": "4"}), "[To:3][To:4]\n"},
		{"from the label of the alerts when allows", "{from_label: oncall, allow: [3, 4], when: {severity: critical}}",
			firing(alert.KV{"severity": "critical", "oncall": "3"}, alert.KV{"severity": "warning", "oncall": "4"}), "[To:3]\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tg, err := chatwork.Kind{}.Target(targetNode(t, "room: 42\nmentions: "+tt.mentions+"\n"))
			if err != nil {
				t.Fatalf("Target: %v", err)
			}
			addr, prefix := tg.Resolve(tt.d)
			if addr != "room/42" || prefix != tt.want {
				t.Errorf("Resolve = %q, %q; want room/42, %q", addr, prefix, tt.want)
			}
		})
	}
}

func TestDirect(t *testing.T) {
	t.Parallel()
	tg, err := chatwork.Kind{}.Direct("42", nil)
	if err != nil {
		t.Fatalf("Direct(42): %v", err)
	}
	if addr, prefix := tg.Resolve(&alert.Data{}); addr != "room/42" || prefix != "" {
		t.Errorf("Resolve = %q, %q; want room/42 without mentions", addr, prefix)
	}
	for _, dest := range []string{"", "0", "042", "abc", "-1", "1/2", "room/42", "1234567890123456789", strings.Repeat("9", 100)} {
		_, err := chatwork.Kind{}.Direct(dest, nil)
		var de *senders.DestinationError
		if !errors.As(err, &de) {
			t.Errorf("Direct(%.20q) = %v, want a *senders.DestinationError", dest, err)
			continue
		}
		if !strings.Contains(de.Reason, "chatwork room id") || len(de.Reason) > 120 {
			t.Errorf("Direct(%.20q): reason %q, want a short one naming the room id", dest, de.Reason)
		}
	}
}

// env is a fixed environment and file system for Sender and Builtin.
type env = senderstest.Env

// senderNode returns the senders: entry cw with the keys body, from line 4.
func senderNode(t *testing.T, body string) confyaml.Node {
	t.Helper()
	return senderstest.Sender(t, "cw", "chatwork", body)
}

func TestSenderPosts(t *testing.T) {
	t.Parallel()
	const tok = "cw-s3cr3t"
	fake := chatworktest.NewServer(t, chatworktest.Options{Tokens: []string{tok}, Rooms: []string{"42"}})
	k := chatwork.Kind{}
	e := env{"CW_TOKEN": tok}
	c, err := k.Sender("cw", k.Defaults(), senderNode(t, "api_url: "+fake.URL()+"\ntoken_env: CW_TOKEN\n"), e.Source("/etc/relay"))
	if err != nil {
		t.Fatalf("Sender: %v", err)
	}
	if c.Name != "cw" || c.Kind != k || c.Scope != "chatwork" || c.Settings != k.Defaults() || !c.HasCredentials() {
		t.Errorf("Sender = %+v, want cw of kind chatwork with its credential", c)
	}
	if c.Host != strings.TrimPrefix(strings.TrimSuffix(fake.URL(), "/v2"), "http://") {
		t.Errorf("Host = %q, want the fake's", c.Host)
	}
	if want := senders.TokenKey("chatwork", fake.URL(), c.Secrets[0]); c.TokenKey != want || strings.Contains(c.TokenKey, tok) {
		t.Errorf("TokenKey = %q, want %q without the token", c.TokenKey, want)
	}
	p, err := k.New(c, senders.Runtime{Client: &http.Client{}})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if _, err := p.Send(context.Background(), delivery.Destination{Sender: "cw", Address: chatwork.Address("42")}, "hello"); err != nil {
		t.Fatalf("Send: %v", err)
	}
	if posts := fake.Posts("42"); len(posts) != 1 || posts[0].Body != "hello" {
		t.Errorf("posts = %+v, want the one message", posts)
	}
}

func TestSenderAPIURL(t *testing.T) {
	t.Parallel()
	k := chatwork.Kind{}
	for _, tt := range []struct {
		name string
		e    env
		body string
		host string
	}{
		{"default", env{"T": "x"}, "token_env: T\n", "api.chatwork.com"},
		{"from the environment", env{"T": "x", chatwork.EnvAPIURL: "https://cw.internal/v2"}, "token_env: T\n", "cw.internal"},
		{"api_url wins", env{"T": "x", chatwork.EnvAPIURL: "https://cw.internal/v2"}, "token_env: T\napi_url: https://proxy.example/v2\n", "proxy.example"},
		{"token from a file", env{"file:/etc/relay/cw.token": "x\n"}, "token_file: cw.token\n", "api.chatwork.com"},
	} {
		c, err := k.Sender("cw", k.Defaults(), senderNode(t, tt.body), tt.e.Source("/etc/relay"))
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if c.Host != tt.host || c.Secrets[0].Reveal() != "x" {
			t.Errorf("%s: host %q, token %q; want %q and x", tt.name, c.Host, c.Secrets[0].Reveal(), tt.host)
		}
	}
}

func TestSenderErrors(t *testing.T) {
	t.Parallel()
	const at = "senders.cw"
	tests := []struct {
		name, body string
		line       int
		path       string
		reason     string
	}{
		{"no token", "api_url: https://x.example\n", 2, at, "token_env or token_file is required for a chatwork sender"},
		{"literal token", "token: s3cr3t\n", 4, at + ".token", "a literal secret is not allowed in the routes file; use token_env or token_file"},
		{"unset token variable", "token_env: NOPE\n", 4, at + ".token_env", "environment variable NOPE is empty or unset"},
		{"both token keys", "token_env: T\ntoken_file: f\n", 5, at + ".token_file", "not both"},
		{"bad api_url", "token_env: T\napi_url: ftp://x.example\n", 5, at + ".api_url", "want an absolute http(s) URL"},
		{"credentials in api_url", "token_env: T\napi_url: https://u:p@x.example\n", 5, at + ".api_url", "credentials in the URL are not allowed"},
		{"unknown key", "token_env: T\nroom: 1\n", 5, at + ".room", "unknown key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			k := chatwork.Kind{}
			c, err := k.Sender("cw", k.Defaults(), senderNode(t, tt.body), env{"T": "x"}.Source("/etc/relay"))
			if err == nil {
				t.Fatalf("Sender = %+v, want an error", c)
			}
			wantError(t, err, tt.line, tt.path, tt.reason)
			if strings.Contains(err.Error(), "s3cr3t") {
				t.Errorf("error %q repeats the secret", err)
			}
		})
	}
}

func TestBuiltin(t *testing.T) {
	t.Parallel()
	k := chatwork.Kind{}
	c, missing, err := k.Builtin(env{}.Senders(), false)
	if c != nil || err != nil || missing != "set RELAY_CHATWORK_TOKEN" {
		t.Errorf("without a token: got %+v, %q, %v; want none, and what to set", c, missing, err)
	}
	c, _, err = k.Builtin(env{}.Senders(), true)
	if err != nil || c == nil || c.Name != "chatwork" || c.HasCredentials() {
		t.Errorf("dry run without a token: got %+v, %v; want the sender without credentials", c, err)
	}
	for name, e := range map[string]env{
		"token":      {chatwork.EnvToken: "t0k"},
		"token file": {chatwork.EnvToken + "_FILE": "/run/cw", "file:/run/cw": "t0k\n"},
	} {
		c, _, err := k.Builtin(e.Senders(), false)
		if err != nil || c == nil || c.Name != "chatwork" || c.Kind != k || c.Settings != k.Defaults() || c.Secrets[0].Reveal() != "t0k" {
			t.Errorf("%s: got %+v, %v; want the chatwork sender with the token", name, c, err)
		}
		if c != nil && c.Host != "api.chatwork.com" {
			t.Errorf("%s: host %q, want api.chatwork.com", name, c.Host)
		}
	}
	for name, tt := range map[string]struct {
		e    env
		want string
	}{
		"both token variables": {env{chatwork.EnvToken: "t", chatwork.EnvToken + "_FILE": "/run/cw"}, "RELAY_CHATWORK_TOKEN and RELAY_CHATWORK_TOKEN_FILE are both set"},
		"unreadable file":      {env{chatwork.EnvToken + "_FILE": "/run/none"}, "RELAY_CHATWORK_TOKEN_FILE"},
		"bad API URL":          {env{chatwork.EnvToken: "t", chatwork.EnvAPIURL: "chatwork.com"}, "RELAY_CHATWORK_API_URL"},
	} {
		if c, _, err := k.Builtin(tt.e.Senders(), false); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: got %+v, %v; want an error naming %s", name, c, err, tt.want)
		}
	}
}
