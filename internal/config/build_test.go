package config

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/relayhq/relay/internal/secret"
)

func TestBuildSendersAndDryRun(t *testing.T) {
	t.Parallel()
	fileWithToken := "senders:\n  cw:\n    type: chatwork\n    token_env: CW\n"
	cases := []struct {
		name        string
		env         func(*Env)
		file        string // "" = no routes file
		wantSenders []string
		wantReason  string // substring; "" = not in dry-run
	}{
		{"no credentials", func(*Env) {}, "",
			[]string{"chatmessenger", "chatwork", "console"}, "no sender credentials"},
		{"chatwork token", func(e *Env) { e.ChatworkToken = secret.New("t") }, "",
			[]string{"chatwork", "console"}, ""},
		{"cam credentials", func(e *Env) { e.CAMURL, e.CAMToken = "https://cam", secret.New("c") }, "",
			[]string{"chatmessenger", "console"}, ""},
		{"file sender with a token", func(*Env) {}, fileWithToken,
			[]string{"console", "cw"}, ""},
		{"dry-run asked for", func(e *Env) { e.ChatworkToken = secret.New("t"); e.DryRun = true }, "",
			[]string{"chatmessenger", "chatwork", "console"}, "RELAY_DRY_RUN is set"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			env := validEnv()
			c.env(&env)
			var f *File
			if c.file != "" {
				var err error
				if f, err = Parse("relay.yml", []byte(c.file), vars{"CW": "x"}.get, files{}.read); err != nil {
					t.Fatal(err)
				}
			}
			cfg, err := Build(env, f)
			if err != nil {
				t.Fatalf("Build: %v", err)
			}
			if got := sortedKeys(cfg.Senders); !slices.Equal(got, c.wantSenders) {
				t.Errorf("senders = %v, want %v", got, c.wantSenders)
			}
			reason := cfg.DryRunReason()
			if cfg.DryRun != (c.wantReason != "") || !strings.Contains(reason, c.wantReason) || (c.wantReason == "" && reason != "") {
				t.Errorf("DryRun = %t, reason %q; want reason containing %q", cfg.DryRun, reason, c.wantReason)
			}
		})
	}
}

func TestBuildDefaultsByKind(t *testing.T) {
	t.Parallel()
	env := validEnv()
	env.ChatworkAPIURL = "http://127.0.0.1:9/v2"
	env.ChatworkToken = secret.New("t")
	env.CAMURL, env.CAMToken = "https://cam.example.com", secret.New("c")
	cfg, err := Build(env, nil)
	if err != nil {
		t.Fatal(err)
	}
	cw, cam, con := cfg.Senders["chatwork"], cfg.Senders["chatmessenger"], cfg.Senders["console"]
	if cw.URL != env.ChatworkAPIURL || cw.RoomLimit.Count != 10 || cw.RoomLimit.Per.Seconds() != 10 ||
		cw.TokenLimit.Count != 300 || cw.TokenLimit.Per.Minutes() != 5 || cw.Margin.Milliseconds() != 250 ||
		cw.MaxChars != 65535 || cw.Separator != "\n[hr]\n" {
		t.Errorf("chatwork defaults = %+v", cw)
	}
	for _, s := range []*Sender{cam, con} {
		if s.RoomLimit.Enabled() || s.TokenLimit.Enabled() || s.MaxChars != 30000 || s.Separator != "\n\n――――――――\n\n" {
			t.Errorf("%s defaults = %+v", s.Name, s)
		}
	}
	if !strings.HasPrefix(cw.TokenKey, "chatwork/token/") || len(cw.TokenKey) != len("chatwork/token/")+12 {
		t.Errorf("TokenKey = %q, want chatwork/token/ and 12 hex digits", cw.TokenKey)
	}
}

func TestTokenKeySharedBySameToken(t *testing.T) {
	t.Parallel()
	src := `senders:
  a: {type: chatwork, token_env: SHARED}
  b: {type: chatwork, token_env: SHARED}
  c: {type: chatwork, token_env: OTHER}
  d: {type: chatwork, token_env: SHARED, api_url: "http://127.0.0.1:9/v2"}
`
	f, err := Parse("relay.yml", []byte(src), vars{"SHARED": "same-token", "OTHER": "other-token"}.get, files{}.read)
	if err != nil {
		t.Fatal(err)
	}
	env := validEnv()
	env.ChatworkToken = secret.New("same-token") // the built-in uses the same account
	cfg, err := Build(env, f)
	if err != nil {
		t.Fatal(err)
	}
	key := func(n string) string { return cfg.Senders[n].TokenKey }
	if key("a") != key("b") || key("a") != key("chatwork") {
		t.Errorf("same URL and token must share a key: a=%s b=%s chatwork=%s", key("a"), key("b"), key("chatwork"))
	}
	if key("a") == key("c") || key("a") == key("d") {
		t.Errorf("another token or URL must not share a key: a=%s c=%s d=%s", key("a"), key("c"), key("d"))
	}
	if strings.Contains(key("a"), "same-token") {
		t.Errorf("TokenKey reveals the token: %s", key("a"))
	}
}

func TestBuildUnconfiguredBuiltinSender(t *testing.T) {
	t.Parallel()
	src := "routes:\n  ops:\n    targets:\n      - sender: console\n      - sender: chatmessenger\n        panel: ops\n"
	f, err := Parse("relay.yml", []byte(src), vars{}.get, files{}.read)
	if err != nil {
		t.Fatal(err)
	}
	env := validEnv()
	env.ChatworkToken = secret.New("t") // not dry-run, but no Chat&Messenger
	_, err = Build(env, f)
	want := `relay.yml:5: routes.ops.targets[1].sender: sender "chatmessenger" is not configured: set RELAY_CAM_URL and RELAY_CAM_TOKEN`
	if err == nil || err.Error() != want {
		t.Fatalf("got %v\nwant %s", err, want)
	}
	// In dry-run the same target stays valid: it renders and paces as usual.
	cfg, err := Build(validEnv(), f)
	if err != nil || !cfg.DryRun {
		t.Fatalf("dry-run Build = %v, %v; want it to accept the target", cfg, err)
	}
}

func TestBuildTemplates(t *testing.T) {
	t.Parallel()
	f := &File{Templates: []string{"/etc/relay/templates", "/etc/alertmanager/*.tmpl"}}
	env := validEnv()
	cfg, _ := Build(env, f)
	if !slices.Equal(cfg.Templates, f.Templates) {
		t.Errorf("Templates = %q, want the file's", cfg.Templates)
	}
	env.Templates = []string{"/override"}
	cfg, _ = Build(env, f)
	if !slices.Equal(cfg.Templates, []string{"/override"}) {
		t.Errorf("Templates = %q, want RELAY_TEMPLATES to override the file", cfg.Templates)
	}
}

func TestDirectTarget(t *testing.T) {
	t.Parallel()
	configured := validEnv()
	configured.ChatworkToken = secret.New("t")
	configured.CAMURL, configured.CAMToken = "https://cam", secret.New("c")
	onlyChatwork := validEnv()
	onlyChatwork.ChatworkToken = secret.New("t")
	cases := []struct {
		name              string
		env               Env
		kind, room, panel string
		users             []string
		wantErr           string
		wantUsers         []string
	}{
		{name: "chatwork room", env: configured, kind: "chatwork", room: "42"},
		{name: "cam dm", env: configured, kind: "chatmessenger", panel: "messenger",
			users: []string{"b@x", "a@x", "b@x"}, wantUsers: []string{"a@x", "b@x"}},
		{name: "cam room without users", env: configured, kind: "chatmessenger", panel: "ops"},
		{name: "dry-run accepts chatwork", env: validEnv(), kind: "chatwork", room: "42"},
		{name: "room not digits", env: configured, kind: "chatwork", room: "abc", wantErr: `chatwork room id must be a positive integer of at most 18 digits, got "abc"`},
		{name: "room of 30 digits", env: configured, kind: "chatwork", room: "123456789012345678901234567890", wantErr: `at most 18 digits`},
		{name: "room with a leading zero", env: configured, kind: "chatwork", room: "0123", wantErr: `positive integer`},
		{name: "dm without users", env: configured, kind: "chatmessenger", panel: "messenger", wantErr: "needs users"},
		{name: "cam not configured", env: onlyChatwork, kind: "chatmessenger", panel: "ops",
			wantErr: "sender chatmessenger is not configured: set RELAY_CAM_URL and RELAY_CAM_TOKEN"},
		{name: "unknown kind", env: configured, kind: "slack", room: "1", wantErr: `unknown sender type "slack"`},
		{name: "console is not a direct target", env: configured, kind: "console", wantErr: `unknown sender type "console"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			cfg, err := Build(c.env, nil)
			if err != nil {
				t.Fatal(err)
			}
			tg, err := cfg.DirectTarget(c.kind, c.room, c.panel, c.users, "custom")
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("got %+v, %v; want error containing %q", tg, err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("DirectTarget: %v", err)
			}
			if tg.Sender != c.kind || tg.Kind != c.kind || tg.Room != c.room || tg.Panel != c.panel ||
				tg.Template != "custom" || !slices.Equal(tg.Users, c.wantUsers) {
				t.Errorf("got %+v", tg)
			}
		})
	}
}

// TestConfigNeverPrintsSecrets prints a fully loaded configuration every
// way a log line or a debug dump might.
func TestConfigNeverPrintsSecrets(t *testing.T) {
	t.Parallel()
	f := loadExample(t)
	env := validEnv()
	env.ChatworkToken = secret.New("env-chatwork-token")
	env.CAMURL, env.CAMToken = "https://cam", secret.New("env-cam-token")
	env.AuthToken = secret.New("env-auth-token")
	env.AdminToken = secret.New("env-admin-token")
	env.Store = secret.New("postgres://relay:db-password@db/relay")
	cfg, err := Build(env, f)
	if err != nil {
		t.Fatal(err)
	}
	js, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	outs := []string{string(js), fmt.Sprint(cfg), fmt.Sprintf("%+v %#v", cfg, cfg),
		fmt.Sprintf("%+v %#v", env, env), fmt.Sprintf("%+v %v", *f, f)}
	for _, s := range cfg.Senders {
		outs = append(outs, fmt.Sprintf("%+v %#v", *s, *s))
	}
	for _, r := range cfg.Routes {
		outs = append(outs, fmt.Sprintf("%+v", *r))
		if r.Auth != nil {
			outs = append(outs, fmt.Sprintf("%+v %#v", *r.Auth, *r.Auth))
			if r.Auth.GrafanaHMAC != nil {
				outs = append(outs, fmt.Sprintf("%+v", *r.Auth.GrafanaHMAC))
			}
		}
	}
	secrets := []string{"env-chatwork-token", "env-cam-token", "env-auth-token", "env-admin-token", "db-password"}
	for _, v := range exampleEnv {
		secrets = append(secrets, v)
	}
	for _, o := range outs {
		for _, s := range secrets {
			if strings.Contains(o, s) {
				t.Errorf("output reveals %q: %s", s, o)
			}
		}
	}
}
