package config

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/relayhq/relay/internal/alert"
	"github.com/relayhq/relay/internal/secret"
	"github.com/relayhq/relay/internal/senders"
)

func TestBuildSendersAndDryRun(t *testing.T) {
	t.Parallel()
	fileWithToken := "senders:\n  cw:\n    type: chatwork\n    token_env: CW\n"
	cases := []struct {
		name        string
		env         func(*Env)
		vars        vars   // the kinds' variables
		file        string // "" = no routes file
		wantSenders []string
		wantReason  string // substring; "" = not in dry-run
	}{
		{"no credentials", func(*Env) {}, nil, "",
			[]string{"chatmessenger", "chatwork", "console"}, "no sender credentials: set RELAY_CAM_URL and RELAY_CAM_TOKEN, or set RELAY_CHATWORK_TOKEN, or define"},
		{"chatwork token", func(*Env) {}, vars{"RELAY_CHATWORK_TOKEN": "t"}, "",
			[]string{"chatwork", "console"}, ""},
		{"cam credentials", func(*Env) {}, vars{"RELAY_CAM_URL": "https://cam", "RELAY_CAM_TOKEN": "c"}, "",
			[]string{"chatmessenger", "console"}, ""},
		{"file sender with a token", func(*Env) {}, nil, fileWithToken,
			[]string{"console", "cw"}, ""},
		{"dry-run asked for", func(e *Env) { e.DryRun = true }, vars{"RELAY_CHATWORK_TOKEN": "t"}, "",
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
				if f, err = Parse("relay.yml", []byte(c.file), testKinds, vars{"CW": "x"}.get, files{}.read); err != nil {
					t.Fatal(err)
				}
			}
			cfg, err := build(env, f, c.vars)
			if err != nil {
				t.Fatalf("Build: %v", err)
			}
			if got := slices.Sorted(maps.Keys(cfg.Senders)); !slices.Equal(got, c.wantSenders) {
				t.Errorf("senders = %v, want %v", got, c.wantSenders)
			}
			reason := cfg.DryRunReason()
			if cfg.DryRun != (c.wantReason != "") || !strings.Contains(reason, c.wantReason) || (c.wantReason == "" && reason != "") {
				t.Errorf("DryRun = %t, reason %q; want reason containing %q", cfg.DryRun, reason, c.wantReason)
			}
		})
	}
}

// build builds the configuration with v as the kinds' environment.
func build(env Env, f *File, v vars) (*Config, error) {
	return Build(env, f, testKinds, senders.Env{Getenv: v.get, ReadFile: files{}.read})
}

func TestBuildDefaultsByKind(t *testing.T) {
	t.Parallel()
	cfg, err := build(validEnv(), nil, vars{"RELAY_CHATWORK_API_URL": "http://127.0.0.1:9/v2", "RELAY_CHATWORK_TOKEN": "t",
		"RELAY_CAM_URL": "https://cam.example.com", "RELAY_CAM_TOKEN": "c"})
	if err != nil {
		t.Fatal(err)
	}
	cw, cam, con := cfg.Senders["chatwork"], cfg.Senders["chatmessenger"], cfg.Senders["console"]
	if cw.Host != "127.0.0.1:9" || cw.Destination.Count != 10 || cw.Destination.Per.Seconds() != 10 ||
		cw.Token.Count != 300 || cw.Token.Per.Minutes() != 5 || cw.Margin.Milliseconds() != 250 ||
		cw.MaxChars != 65535 || cw.Separator != "\n[hr]\n" || cw.RateLimitPause.Seconds() != 10 || !cw.Fold {
		t.Errorf("chatwork defaults = %+v", cw)
	}
	for _, s := range []*senders.Config{cam, con} {
		if s.Destination.Enabled() || s.Token.Enabled() || s.MaxChars != 30000 || s.Separator != "\n\n――――――――\n\n" || s.RateLimitPause != 0 {
			t.Errorf("%s defaults = %+v", s.Name, s)
		}
	}
	if !strings.HasPrefix(cw.TokenKey, "chatwork/token/") || len(cw.TokenKey) != len("chatwork/token/")+12 {
		t.Errorf("TokenKey = %q, want chatwork/token/ and 12 hex digits", cw.TokenKey)
	}
}

func TestBuildBadKindEnvironment(t *testing.T) {
	t.Parallel()
	for v, want := range map[string]vars{
		"RELAY_CHATWORK_API_URL: want an absolute http(s) URL":                    {"RELAY_CHATWORK_API_URL": "api.chatwork.com"},
		"RELAY_CAM_URL and RELAY_CAM_TOKEN: set both":                             {"RELAY_CAM_URL": "https://cam"},
		"RELAY_CHATWORK_TOKEN and RELAY_CHATWORK_TOKEN_FILE are both set":         {"RELAY_CHATWORK_TOKEN": "t", "RELAY_CHATWORK_TOKEN_FILE": "/x"},
		"RELAY_CAM_TOKEN_FILE: read secret file: open /none: file does not exist": {"RELAY_CAM_URL": "https://cam", "RELAY_CAM_TOKEN_FILE": "/none"},
	} {
		_, err := build(validEnv(), nil, want)
		if err == nil || !strings.Contains(err.Error(), v) {
			t.Errorf("Build with %v = %v, want an error containing %q", want, err, v)
		}
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
	f, err := Parse("relay.yml", []byte(src), testKinds, vars{"SHARED": "same-token", "OTHER": "other-token"}.get, files{}.read)
	if err != nil {
		t.Fatal(err)
	}
	// The built-in uses the same account.
	cfg, err := build(validEnv(), f, vars{"RELAY_CHATWORK_TOKEN": "same-token"})
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
	f, err := Parse("relay.yml", []byte(src), testKinds, vars{}.get, files{}.read)
	if err != nil {
		t.Fatal(err)
	}
	// Not dry-run, but no Chat&Messenger.
	_, err = build(validEnv(), f, vars{"RELAY_CHATWORK_TOKEN": "t"})
	want := `relay.yml:5: routes.ops.targets[1].sender: sender "chatmessenger" is not configured: set RELAY_CAM_URL and RELAY_CAM_TOKEN`
	if err == nil || err.Error() != want {
		t.Fatalf("got %v\nwant %s", err, want)
	}
	// In dry-run the same target stays valid: it renders and paces as usual.
	cfg, err := build(validEnv(), f, nil)
	if err != nil || !cfg.DryRun {
		t.Fatalf("dry-run Build = %v, %v; want it to accept the target", cfg, err)
	}
}

func TestBuildTemplates(t *testing.T) {
	t.Parallel()
	f := &File{Templates: []string{"/etc/relay/templates", "/etc/alertmanager/*.tmpl"}}
	env := validEnv()
	cfg, _ := build(env, f, nil)
	if !slices.Equal(cfg.Templates, f.Templates) {
		t.Errorf("Templates = %q, want the file's", cfg.Templates)
	}
	env.Templates = []string{"/override"}
	cfg, _ = build(env, f, nil)
	if !slices.Equal(cfg.Templates, []string{"/override"}) {
		t.Errorf("Templates = %q, want RELAY_TEMPLATES to override the file", cfg.Templates)
	}
}

func TestDirectTarget(t *testing.T) {
	t.Parallel()
	configured := vars{"RELAY_CHATWORK_TOKEN": "t", "RELAY_CAM_URL": "https://cam", "RELAY_CAM_TOKEN": "c"}
	onlyChatwork := vars{"RELAY_CHATWORK_TOKEN": "t"}
	cases := []struct {
		name        string
		vars        vars
		kind, dest  string
		query       url.Values
		wantErr     string
		wantAddress string
	}{
		{name: "chatwork room", vars: configured, kind: "chatwork", dest: "42", wantAddress: "room/42"},
		{name: "cam dm", vars: configured, kind: "chatmessenger", dest: "messenger",
			query: url.Values{"users": {"b@x, a@x", "b@x"}}, wantAddress: "panel/messenger?users=a@x,b@x"},
		{name: "cam room without users", vars: configured, kind: "chatmessenger", dest: "ops", wantAddress: "panel/ops"},
		{name: "dry-run accepts chatwork", kind: "chatwork", dest: "42", wantAddress: "room/42"},
		{name: "room not digits", vars: configured, kind: "chatwork", dest: "abc", wantErr: `chatwork room id must be a positive integer of at most 18 digits, got "abc"`},
		{name: "room of 30 digits", vars: configured, kind: "chatwork", dest: "123456789012345678901234567890", wantErr: `at most 18 digits`},
		{name: "room with a leading zero", vars: configured, kind: "chatwork", dest: "0123", wantErr: `positive integer`},
		{name: "dm without users", vars: configured, kind: "chatmessenger", dest: "messenger", wantErr: "needs users"},
		{name: "cam not configured", vars: onlyChatwork, kind: "chatmessenger", dest: "ops",
			wantErr: "sender chatmessenger is not configured: set RELAY_CAM_URL and RELAY_CAM_TOKEN"},
		{name: "unknown kind", vars: configured, kind: "slack", dest: "1", wantErr: `unknown sender kind "slack"`},
		{name: "console takes no direct URLs", vars: configured, kind: "console", wantErr: `unknown sender kind "console": it takes no direct URLs`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			cfg, err := build(validEnv(), nil, c.vars)
			if err != nil {
				t.Fatal(err)
			}
			tg, err := cfg.DirectTarget(c.kind, c.dest, c.query, "custom")
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("got %+v, %v; want error containing %q", tg, err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("DirectTarget: %v", err)
			}
			addr, _ := tg.Dest.Resolve(&alert.Data{Status: "firing"})
			if tg.Sender != c.kind || tg.Kind.Name() != c.kind || addr != c.wantAddress || tg.Template != "custom" {
				t.Errorf("got %+v at %q, want %q", tg, addr, c.wantAddress)
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
	env.AuthToken = secret.New("env-auth-token")
	env.AdminToken = secret.New("env-admin-token")
	env.Store = secret.New("postgres://relay:db-password@db/relay")
	cfg, err := build(env, f, vars{"RELAY_CHATWORK_TOKEN": "env-chatwork-token", "RELAY_CAM_URL": "https://cam", "RELAY_CAM_TOKEN": "env-cam-token"})
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
