package chatmessenger_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/relayhq/relay/internal/alert"
	"github.com/relayhq/relay/internal/confyaml"
	"github.com/relayhq/relay/internal/delivery"
	"github.com/relayhq/relay/internal/senders"
	"github.com/relayhq/relay/internal/senders/chatmessenger"
	"github.com/relayhq/relay/internal/senders/chatmessenger/chatmessengertest"
	"github.com/relayhq/relay/internal/senders/senderstest"
	"github.com/relayhq/relay/internal/templates"
)

// targetNode is a chatmessenger target with the keys body, from line 5
// (the target itself is at line 4), as Kind.Target gets it.
func targetNode(t *testing.T, body string) confyaml.Node {
	t.Helper()
	return senderstest.Target(t, "chatmessenger", body)
}

// senderNode returns the senders: entry cam with the keys body, from line 4.
func senderNode(t *testing.T, body string) confyaml.Node {
	t.Helper()
	return senderstest.Sender(t, "cam", "chatmessenger", body)
}

var wantError = senderstest.WantError

func TestKindDescribesItself(t *testing.T) {
	t.Parallel()
	k := chatmessenger.Kind{}
	if k.Name() != "chatmessenger" {
		t.Errorf("Name() = %q, want chatmessenger", k.Name())
	}
	if d := k.Defaults(); d.Destination.Enabled() || d.Token.Enabled() || d.MaxChars != chatmessenger.MaxChars || !d.Fold || d.LimitName != "destination" {
		t.Errorf("Defaults() = %+v, want no post limits and %d characters", d, chatmessenger.MaxChars)
	}
	if n := k.Notation(); !reflect.DeepEqual(n, templates.Notation{}) {
		t.Errorf("Notation() = %+v, want plain text", n)
	}
	if k.Templates() != nil {
		t.Error("Templates() is not nil, want the shared text templates")
	}
	for addr, want := range map[string]string{
		"panel/messenger?users=a@x,b@x&sealed": "panel messenger users a@x,b@x (sealed)",
		"panel/障害対応":                           "panel 障害対応",
		"panel/ops?sealed":                     "panel ops (sealed)",
	} {
		if got := k.Describe(addr); got != want {
			t.Errorf("Describe(%q) = %q, want %q", addr, got, want)
		}
	}
}

func TestAddressRoundTrip(t *testing.T) {
	t.Parallel()
	tests := []struct {
		d    chatmessenger.Dest
		want string
	}{
		{chatmessenger.Dest{Panel: "messenger", Users: []string{"a@x", "b@x"}, Sealed: true}, "panel/messenger?users=a@x,b@x&sealed"},
		{chatmessenger.Dest{Panel: "messenger", Users: []string{"a@x"}}, "panel/messenger?users=a@x"},
		{chatmessenger.Dest{Panel: "ops", Sealed: true}, "panel/ops?sealed"},
		{chatmessenger.Dest{Panel: "ops"}, "panel/ops"},
		{chatmessenger.Dest{Panel: "障害対応", Users: []string{"a@x"}}, "panel/障害対応?users=a@x"},
		{chatmessenger.Dest{Panel: "team/night", Users: []string{"a+b@x"}, Sealed: true}, "panel/team/night?users=a+b@x&sealed"},
	}
	for _, tt := range tests {
		got := tt.d.Address()
		if got != tt.want {
			t.Errorf("Address(%+v) = %q, want %q", tt.d, got, tt.want)
		}
		if back := chatmessenger.ParseAddress(got); !reflect.DeepEqual(back, tt.d) {
			t.Errorf("ParseAddress(%q) = %+v, want %+v", got, back, tt.d)
		}
		// Through a lane key, as the outbox keeps it.
		lane := delivery.Destination{Sender: "cam", Address: got}.Lane()
		if back := chatmessenger.ParseAddress(delivery.ParseLane(lane).Address); !reflect.DeepEqual(back, tt.d) {
			t.Errorf("through lane %q: %+v, want %+v", lane, back, tt.d)
		}
	}
	for _, addr := range []string{"", "room/42", "messenger?users=a@x"} {
		if got := chatmessenger.ParseAddress(addr); !reflect.DeepEqual(got, chatmessenger.Dest{}) {
			t.Errorf("ParseAddress(%q) = %+v, want no destination", addr, got)
		}
	}
}

func TestNormalizeUsers(t *testing.T) {
	t.Parallel()
	got := chatmessenger.NormalizeUsers([]string{" b@x", "a@x", "", "b@x", "  ", "a@x"})
	if want := []string{"a@x", "b@x"}; !reflect.DeepEqual(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	if got := chatmessenger.NormalizeUsers(nil); got != nil {
		t.Errorf("NormalizeUsers(nil) = %q, want nil", got)
	}
}

func TestTarget(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, body string
		want       string
	}{
		{"direct message", "panel: messenger\nusers: [b@x, a@x, b@x]\n", "panel/messenger?users=a@x,b@x"},
		{"a single user", "panel: messenger\nusers: a@x\n", "panel/messenger?users=a@x"},
		{"sealed", "panel: messenger\nusers: a@x\nsealed: true\n", "panel/messenger?users=a@x&sealed"},
		{"room", "panel: 障害対応\n", "panel/障害対応"},
		{"room with mentions", "panel: ops\nusers: [a@x]\n", "panel/ops?users=a@x"},
		{"resolves posted", "panel: ops\non_resolve: post\n", "panel/ops"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tg, err := chatmessenger.Kind{}.Target(targetNode(t, tt.body))
			if err != nil {
				t.Fatalf("Target: %v", err)
			}
			addr, prefix := tg.Resolve(&alert.Data{Status: alert.StatusFiring})
			if addr != tt.want || prefix != "" {
				t.Errorf("Resolve = %q, %q; want %q and no prefix", addr, prefix, tt.want)
			}
		})
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
		{"no panel", "users: a@x\n", 4, at, "panel is required for a chatmessenger target"},
		{"panel with a query", "panel: ops?x\n", 5, at + ".panel", `a panel name may not hold '?' or '&', got "ops?x"`},
		{"direct message without users", "panel: messenger\n", 4, at, "panel messenger sends direct messages and needs users"},
		{"a user with a comma", "panel: messenger\nusers: a@x,b@x\n", 6, at + ".users", `a user may not hold '?', '&' or ',', got "a@x,b@x"`},
		{"sealed not a bool", "panel: ops\nsealed: yes please\n", 6, at + ".sealed", `want true or false, got "yes please"`},
		{"unknown key", "panel: ops\nroom: 1\n", 6, at + ".room", "unknown key (want one of mentions, on_resolve, panel, sealed, users)"},
		{"on_resolve edit", "panel: ops\non_resolve: edit\n", 6, at + ".on_resolve", `Chat&Messenger's API cannot edit or reply to a message: a resolve is posted as a message of its own; use on_resolve: post or leave it out, got "edit"`},
		{"a task", "panel: ops\ntask: {to: 1}\n", 6, at + ".task", "unknown key"},
		{"from_label without allow", "panel: ops\nmentions:\n  from_label: oncall\n", 7, at + ".mentions.from_label", "from_label needs allow"},
		{"unknown status", "panel: ops\nmentions:\n  when: {status: [firing, paged]}\n", 7, at + ".mentions.when.status", `unknown status "paged"`},
		{"mentions to", "panel: ops\nmentions:\n  to: a@x\n", 7, at + ".mentions.to", "unknown key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tg, err := chatmessenger.Kind{}.Target(targetNode(t, tt.body))
			if err == nil {
				t.Fatalf("Target = %+v, want an error", tg)
			}
			wantError(t, err, tt.line, tt.path, tt.reason)
		})
	}
}

// TestResolveMentions: a room's users are mentioned for the alerts the
// mentions' when allows, with the users a label adds when allow lists
// them; the users of a direct message always stay.
func TestResolveMentions(t *testing.T) {
	t.Parallel()
	firing := func(labels ...alert.KV) *alert.Data {
		d := &alert.Data{Status: alert.StatusFiring}
		for _, l := range labels {
			d.Alerts = append(d.Alerts, alert.Alert{Status: alert.StatusFiring, Labels: l})
		}
		return d
	}
	resolved := &alert.Data{Status: alert.StatusResolved, Alerts: alert.Alerts{{Status: alert.StatusResolved}}}
	tests := []struct {
		name, body string
		d          *alert.Data
		want       string
	}{
		{"room, no when", "panel: ops\nusers: a@x\n", resolved, "panel/ops?users=a@x"},
		{"room, when allows", "panel: ops\nusers: a@x\nmentions: {when: {status: firing}}\n", firing(alert.KV{}), "panel/ops?users=a@x"},
		{"room, when does not allow", "panel: ops\nusers: a@x\nsealed: true\nmentions: {when: {status: firing}}\n", resolved, "panel/ops?sealed"},
		{"room, severity not allowed", "panel: ops\nusers: a@x\nmentions: {when: {severity: critical}}\n", firing(alert.KV{"severity": "info"}), "panel/ops"},
		{"direct message, when does not allow", "panel: messenger\nusers: a@x\nmentions: {when: {status: firing}}\n", resolved, "panel/messenger?users=a@x"},
		{"from a label, allowed ones only", "panel: ops\nusers: b@x\nmentions: {from_label: oncall, allow: [c@x, a@x]}\n",
			firing(alert.KV{"oncall": "c@x, d@x"}, alert.KV{"oncall": "a@x,b@x"}), "panel/ops?users=a@x,b@x,c@x"},
		{"direct message adds from a label", "panel: messenger\nusers: b@x\nsealed: true\nmentions: {from_label: oncall, allow: [a@x]}\n",
			firing(alert.KV{"oncall": "a@x"}), "panel/messenger?users=a@x,b@x&sealed"},
		{"from the label of the alerts when allows", "panel: ops\nmentions: {from_label: oncall, allow: [a@x, c@x], when: {severity: critical}}\n",
			firing(alert.KV{"severity": "critical", "oncall": "a@x"}, alert.KV{"severity": "info", "oncall": "c@x"}), "panel/ops?users=a@x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tg, err := chatmessenger.Kind{}.Target(targetNode(t, tt.body))
			if err != nil {
				t.Fatalf("Target: %v", err)
			}
			if addr, prefix := tg.Resolve(tt.d); addr != tt.want || prefix != "" {
				t.Errorf("Resolve = %q, %q; want %q and no prefix", addr, prefix, tt.want)
			}
		})
	}
}

func TestDirect(t *testing.T) {
	t.Parallel()
	tests := []struct {
		dest  string
		query string
		want  string // address; "" for a DestinationError
	}{
		{"messenger", "users=b@x,a@x&users=a@x", "panel/messenger?users=a@x,b@x"},
		{"ops", "", "panel/ops"},
		{"ops", "users=a@x", "panel/ops?users=a@x"},
		{"messenger", "", ""},
		{"messenger", "users=,", ""},
		{"", "users=a@x", ""},
		{"ops&sealed", "", ""},
		{"messenger", "users=a@x%26sealed", ""},
	}
	for _, tt := range tests {
		q, err := url.ParseQuery(tt.query)
		if err != nil {
			t.Fatal(err)
		}
		tg, err := chatmessenger.Kind{}.Direct(tt.dest, q)
		if tt.want == "" {
			var de *senders.DestinationError
			if !errors.As(err, &de) {
				t.Errorf("Direct(%q, %q) = %v, want a *senders.DestinationError", tt.dest, tt.query, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("Direct(%q, %q): %v", tt.dest, tt.query, err)
			continue
		}
		if addr, _ := tg.Resolve(&alert.Data{Status: alert.StatusFiring}); addr != tt.want {
			t.Errorf("Direct(%q, %q) resolves to %q, want %q", tt.dest, tt.query, addr, tt.want)
		}
	}
}

type env = senderstest.Env

func TestSenderPosts(t *testing.T) {
	t.Parallel()
	const tok = "cam-s3cr3t"
	fake := chatmessengertest.NewServer(t, chatmessengertest.Options{Token: tok, Users: []string{"a@x"}})
	k := chatmessenger.Kind{}
	src := confyaml.Source{Getenv: env{"CAM_TOKEN": tok}.Getenv, Dir: "/etc/relay"}
	c, err := k.Sender("cam", k.Defaults(), senderNode(t, "url: "+fake.URL()+"\ntoken_env: CAM_TOKEN\n"), src)
	if err != nil {
		t.Fatalf("Sender: %v", err)
	}
	if c.Name != "cam" || c.Kind != k || c.Scope != "chatmessenger" || !c.HasCredentials() ||
		c.TokenKey != senders.TokenKey("chatmessenger", fake.URL(), c.Secrets[0]) {
		t.Errorf("Sender = %+v, want cam of kind chatmessenger with its credential", c)
	}
	p, err := k.New(c, senders.Runtime{Client: &http.Client{}})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	d := chatmessenger.Dest{Panel: chatmessenger.PanelMessenger, Users: []string{"a@x"}, Sealed: true}
	if _, err := p.Send(context.Background(), delivery.Destination{Sender: "cam", Address: d.Address()}, "hello"); err != nil {
		t.Fatalf("Send: %v", err)
	}
	msgs := fake.Messages()
	if len(msgs) != 1 || msgs[0].PanelName != "messenger" || !msgs[0].IsOpened || !reflect.DeepEqual(msgs[0].Users, []string{"a@x"}) {
		t.Errorf("messages = %+v, want one sealed direct message to a@x", msgs)
	}
}

func TestSenderErrors(t *testing.T) {
	t.Parallel()
	const at = "senders.cam"
	tests := []struct {
		name, body string
		line       int
		path       string
		reason     string
	}{
		{"no url", "token_env: T\n", 2, at, "url is required for a chatmessenger sender"},
		{"bad url", "url: cam.example:8080\ntoken_env: T\n", 4, at + ".url", "want an absolute http(s) URL"},
		{"no token", "url: https://cam.example\n", 2, at, "token_env or token_file is required for a chatmessenger sender"},
		{"literal token", "url: https://cam.example\ntoken: s3cr3t\n", 5, at + ".token", "a literal secret is not allowed"},
		{"missing token file", "url: https://cam.example\ntoken_file: none\n", 5, at + ".token_file", "read secret file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			k := chatmessenger.Kind{}
			src := confyaml.Source{Getenv: env{"T": "x"}.Getenv, ReadFile: env{}.ReadFile, Dir: "/etc/relay"}
			c, err := k.Sender("cam", k.Defaults(), senderNode(t, tt.body), src)
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
	k := chatmessenger.Kind{}
	c, missing, err := k.Builtin(env{}.Senders(), false)
	if c != nil || err != nil || missing != "set RELAY_CAM_URL and RELAY_CAM_TOKEN" {
		t.Errorf("unset: got %+v, %q, %v; want none, and what to set", c, missing, err)
	}
	if c, _, err := k.Builtin(env{}.Senders(), true); err != nil || c == nil || c.Name != "chatmessenger" || c.HasCredentials() {
		t.Errorf("dry run: got %+v, %v; want the sender without credentials", c, err)
	}
	for name, e := range map[string]env{
		"token":      {chatmessenger.EnvURL: "https://cam.example", chatmessenger.EnvToken: "t0k"},
		"token file": {chatmessenger.EnvURL: "https://cam.example", chatmessenger.EnvToken + "_FILE": "/run/cam", "file:/run/cam": "t0k\n"},
	} {
		c, _, err := k.Builtin(e.Senders(), false)
		if err != nil || c == nil || c.Host != "cam.example" || c.Secrets[0].Reveal() != "t0k" || c.Settings != k.Defaults() {
			t.Errorf("%s: got %+v, %v; want the chatmessenger sender", name, c, err)
		}
	}
	for name, tt := range map[string]struct {
		e    env
		want string
	}{
		"url only":   {env{chatmessenger.EnvURL: "https://cam.example"}, "set both"},
		"token only": {env{chatmessenger.EnvToken: "t"}, "set both"},
		"bad url":    {env{chatmessenger.EnvURL: "cam.example", chatmessenger.EnvToken: "t"}, "RELAY_CAM_URL"},
		"both token variables": {env{chatmessenger.EnvURL: "https://cam.example", chatmessenger.EnvToken: "t", chatmessenger.EnvToken + "_FILE": "/run/cam"},
			"RELAY_CAM_TOKEN and RELAY_CAM_TOKEN_FILE are both set"},
	} {
		if c, _, err := k.Builtin(tt.e.Senders(), false); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: got %+v, %v; want an error saying %q", name, c, err, tt.want)
		}
	}
}
