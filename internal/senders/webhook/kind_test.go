package webhook

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/relayhq/relay/internal/confyaml"
	"github.com/relayhq/relay/internal/secret"
	"github.com/relayhq/relay/internal/senders"
)

const hookURL = "https://hooks.example.com" + hookPath

// testEnv holds the variables and files the option tests name.
var testEnv = map[string]string{
	"HOOK_URL":    hookURL,
	"HOOK_AUTH":   hookAuth,
	"HOOK_SECRET": hookKey,
	"BAD_URL":     "ftp://hooks.example.com" + hookPath,
	"USER_URL":    "https://user:hook-token-9f8e7d@hooks.example.com/x",
	"CRLF_AUTH":   "Bearer auth-token-5e6f7a\r\nX-Evil: 1",
}

var testFiles = map[string]string{
	"conf/secrets/hook-url":  hookURL + "\n",
	"conf/secrets/hook-auth": hookAuth + "\n",
}

func readTestFile(p string) ([]byte, error) {
	if v, ok := testFiles[p]; ok {
		return []byte(v), nil
	}
	return nil, fmt.Errorf("open %s: %w", p, fs.ErrNotExist)
}

// parseSender decodes the entry senders.hooks of a routes file as config
// does: the common keys off, the rest to the kind.
func parseSender(t *testing.T, src string) (*senders.Config, error) {
	t.Helper()
	root, err := confyaml.Load("conf/relay.yml", []byte(src))
	if err != nil {
		t.Fatalf("bad test YAML: %v", err)
	}
	n := root.Key("senders").Key("hooks")
	s := Kind{}.Defaults()
	if sep := n.Key("separator"); !sep.IsNull() {
		s.Separator = sep.Y.Value
	}
	return Kind{}.Sender("hooks", s, n.Without("type", "limits", "max_chars", "separator"),
		confyaml.Source{Getenv: func(k string) string { return testEnv[k] }, ReadFile: readTestFile, Dir: "conf"})
}

func TestSenderOptions(t *testing.T) {
	t.Parallel()
	c, err := parseSender(t, `
senders:
  hooks:
    type: webhook
    url_env: HOOK_URL
    headers: {x-team: ops, X-Source: relay}
    header_env: {authorization: HOOK_AUTH}
    hmac_secret_env: HOOK_SECRET
    content_type: application/json; charset=utf-8
`)
	if err != nil {
		t.Fatalf("Sender: %v", err)
	}
	o, ok := c.Options.(Config)
	if !ok {
		t.Fatalf("Options is %T, want Config", c.Options)
	}
	want := Config{
		Name:          "hooks",
		URL:           secret.New(hookURL),
		Headers:       http.Header{"X-Team": {"ops"}, "X-Source": {"relay"}},
		SecretHeaders: map[string]secret.Secret{"Authorization": secret.New(hookAuth)},
		HMACSecret:    secret.New(hookKey),
		ContentType:   "application/json; charset=utf-8",
	}
	if !reflect.DeepEqual(o, want) {
		t.Errorf("options %#v\nwant %#v", o, want)
	}
	if c.Scope != Scope(hookURL) || !strings.HasPrefix(c.Scope, "webhook/url/") || len(c.Scope) != len("webhook/url/")+12 {
		t.Errorf("scope %q, want webhook/url/ and 12 hex digits", c.Scope)
	}
	if c.Host != "hooks.example.com" || c.TokenKey != "" {
		t.Errorf("host %q, token key %q; want hooks.example.com and none", c.Host, c.TokenKey)
	}
	var got []string
	for _, s := range c.Secrets {
		got = append(got, s.Reveal())
	}
	for _, w := range []string{hookURL, hookPath, hookAuth, hookKey} {
		if !slices.Contains(got, w) {
			t.Errorf("Secrets lack %q", w)
		}
	}
	if !reflect.DeepEqual(c.Settings, Kind{}.Defaults()) || c.Fold || c.MaxChars != 0 || c.Destination.Enabled() || c.RateLimitPause != 0 {
		t.Errorf("settings %+v, want the defaults: no limit, no folding, no size", c.Settings)
	}
}

func TestSenderOptionsFromFiles(t *testing.T) {
	t.Parallel()
	c, err := parseSender(t, `
senders:
  hooks:
    type: webhook
    url_file: secrets/hook-url
    header_file: {Authorization: secrets/hook-auth}
`)
	if err != nil {
		t.Fatalf("Sender: %v", err)
	}
	o := c.Options.(Config)
	if o.URL.Reveal() != hookURL || o.SecretHeaders["Authorization"].Reveal() != hookAuth {
		t.Errorf("URL and header not read from the files (relative to the routes file)")
	}
	if o.ContentType != DefaultContentType || o.HMACSecret.IsSet() {
		t.Errorf("content type %q, HMAC set %v; want the default and none", o.ContentType, o.HMACSecret.IsSet())
	}
}

func TestSenderOptionErrors(t *testing.T) {
	t.Parallel()
	const head = "senders:\n  hooks:\n    type: webhook\n"
	cases := []struct {
		name, src, want string
	}{
		{"no url", "    headers: {X-Team: ops}\n",
			"conf/relay.yml:2: senders.hooks: url_env or url_file is required for a webhook sender"},
		{"literal url", "    url: " + hookURL + "\n",
			"conf/relay.yml:4: senders.hooks.url: a literal secret is not allowed in the routes file; use url_env or url_file"},
		{"literal hmac secret", "    url_env: HOOK_URL\n    hmac_secret: hunter22\n",
			"conf/relay.yml:5: senders.hooks.hmac_secret: a literal secret is not allowed in the routes file; use hmac_secret_env or hmac_secret_file"},
		{"literal header", "    url_env: HOOK_URL\n    header: {Authorization: x}\n",
			"conf/relay.yml:5: senders.hooks.header: a literal secret is not allowed in the routes file; use header_env or header_file"},
		{"unknown key", "    url_env: HOOK_URL\n    room: 42\n",
			"conf/relay.yml:5: senders.hooks.room: unknown key (want one of content_type, header_env, header_file, headers, hmac_secret_env, hmac_secret_file, url_env, url_file)"},
		{"unset variable", "    url_env: NOPE\n",
			"conf/relay.yml:4: senders.hooks.url_env: environment variable NOPE is empty or unset"},
		{"url twice", "    url_env: HOOK_URL\n    url_file: secrets/hook-url\n",
			"conf/relay.yml:5: senders.hooks.url_file: set url_env or url_file, not both"},
		{"missing file", "    url_file: secrets/nope\n",
			"conf/relay.yml:4: senders.hooks.url_file: read secret file: open conf/secrets/nope: file does not exist"},
		{"not http", "    url_env: BAD_URL\n",
			"conf/relay.yml:4: senders.hooks.url_env: the URL in environment variable BAD_URL: want an absolute http(s) URL"},
		{"userinfo", "    url_env: USER_URL\n",
			"conf/relay.yml:4: senders.hooks.url_env: the URL in environment variable USER_URL: credentials in the URL are not allowed; send them in a header with header_env or header_file"},
		{"plain authorization", "    url_env: HOOK_URL\n    headers:\n      authorization: Bearer x\n",
			"conf/relay.yml:6: senders.hooks.headers.authorization: a literal secret is not allowed in the routes file; set Authorization with header_env or header_file"},
		{"content type header", "    url_env: HOOK_URL\n    headers: {Content-Type: text/plain}\n",
			"conf/relay.yml:5: senders.hooks.headers.Content-Type: header Content-Type cannot be set: the body's type is content_type"},
		{"signature header", "    url_env: HOOK_URL\n    headers: {X-Relay-Signature: x}\n",
			"conf/relay.yml:5: senders.hooks.headers.X-Relay-Signature: header X-Relay-Signature cannot be set: relay sets X-Relay-Signature when hmac_secret_env or hmac_secret_file is set"},
		{"header twice", "    url_env: HOOK_URL\n    headers: {X-Token: a}\n    header_env:\n      x-token: HOOK_AUTH\n",
			"conf/relay.yml:7: senders.hooks.header_env.x-token: header X-Token is set twice (also under headers)"},
		{"bad header name", "    url_env: HOOK_URL\n    headers: {\"X Team\": ops}\n",
			`conf/relay.yml:5: senders.hooks.headers.X Team: invalid header name "X Team"`},
		{"headers not a mapping", "    url_env: HOOK_URL\n    headers: X-Team\n",
			`conf/relay.yml:5: senders.hooks.headers: want a mapping, got "X-Team"`},
		{"header value not a single value", "    url_env: HOOK_URL\n    headers:\n      X-Team: [a, b]\n",
			"conf/relay.yml:6: senders.hooks.headers.X-Team: want a single value, got a list"},
		{"bad variable name", "    url_env: HOOK_URL\n    header_env: {Authorization: 'HOOK AUTH'}\n",
			`conf/relay.yml:5: senders.hooks.header_env.Authorization: invalid environment variable name "HOOK AUTH"`},
		{"unset header variable", "    url_env: HOOK_URL\n    header_env:\n      Authorization: NOPE\n",
			"conf/relay.yml:6: senders.hooks.header_env.Authorization: environment variable NOPE is empty or unset"},
		{"header value with CRLF", "    url_env: HOOK_URL\n    header_env:\n      Authorization: CRLF_AUTH\n",
			"conf/relay.yml:6: senders.hooks.header_env.Authorization: the value of header Authorization may not hold control characters"},
		{"bad content type", "    url_env: HOOK_URL\n    content_type: 'application json'\n",
			`conf/relay.yml:5: senders.hooks.content_type: want a media type such as application/json, got "application json"`},
		{"separator", "    url_env: HOOK_URL\n    separator: '---'\n",
			"conf/relay.yml:2: senders.hooks.separator: a webhook post carries one message, so separator does not apply"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			_, err := parseSender(t, head+c.src)
			var ce *confyaml.Error
			if !errors.As(err, &ce) {
				t.Fatalf("got %v, want a *confyaml.Error", err)
			}
			if err.Error() != c.want {
				t.Errorf("got  %s\nwant %s", err, c.want)
			}
			assertNoSecret(t, "error", err.Error())
		})
	}
}

func TestConfigNeverPrintsSecrets(t *testing.T) {
	t.Parallel()
	c, err := parseSender(t, `
senders:
  hooks:
    type: webhook
    url_env: HOOK_URL
    header_env: {Authorization: HOOK_AUTH}
    hmac_secret_env: HOOK_SECRET
`)
	if err != nil {
		t.Fatal(err)
	}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		assertNoSecret(t, verb+" of *senders.Config", fmt.Sprintf(verb, c))
		assertNoSecret(t, verb+" of senders.Config", fmt.Sprintf(verb, *c))
		assertNoSecret(t, verb+" of Options", fmt.Sprintf(verb, c.Options))
	}
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	assertNoSecret(t, "JSON of the config", string(b))
}

func TestScopeSharedByURL(t *testing.T) {
	t.Parallel()
	a, b := Scope(hookURL), Scope(hookURL+"x")
	if a == b || a != Scope(hookURL) {
		t.Errorf("scopes %q and %q: want one per URL", a, b)
	}
	assertNoSecret(t, "scope", a)
}

func TestTargets(t *testing.T) {
	t.Parallel()
	src := "targets:\n  - sender: hooks\n  - sender: hooks\n    room: \"42\"\n"
	root, err := confyaml.Load("relay.yml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	ts := root.Key("targets")
	tg, err := Kind{}.Target(ts.Index(0).Without("sender", "template", "matchers"))
	if err != nil {
		t.Fatalf("plain target: %v", err)
	}
	if addr, prefix := tg.Resolve(nil); addr != "" || prefix != "" {
		t.Errorf("Resolve = %q, %q; want no address and no prefix", addr, prefix)
	}
	_, err = Kind{}.Target(ts.Index(1).Without("sender", "template", "matchers"))
	want := "relay.yml:4: targets[1].room: unknown key: a webhook target takes sender, template and matchers; its sender's URL is where it goes"
	if err == nil || err.Error() != want {
		t.Errorf("got  %v\nwant %s", err, want)
	}
}

func TestNoBuiltinNoDirect(t *testing.T) {
	t.Parallel()
	c, missing, err := Kind{}.Builtin(senders.Env{Getenv: func(string) string { return "x" }}, true)
	if c != nil || err != nil || missing != "define a webhook sender under senders" {
		t.Errorf("Builtin = %v, %q, %v; want none, with how to define one", c, missing, err)
	}
	if _, err := (Kind{}).Direct("anything", nil); !errors.Is(err, senders.ErrNoDirect) {
		t.Errorf("Direct: got %v, want ErrNoDirect", err)
	}
	if got := (Kind{}).Describe(""); got != "webhook" {
		t.Errorf("Describe = %q, want webhook", got)
	}
}

func TestWrap(t *testing.T) {
	t.Parallel()
	msg := "[FIRING:1] \"HighLatency\" <api> & co\nline 2\ttab é \u2028"
	got := Wrap(msg)
	want := `{"text":"[FIRING:1] \"HighLatency\" <api> & co\nline 2\ttab é \u2028"}`
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	var back struct{ Text string }
	if err := json.Unmarshal([]byte(got), &back); err != nil || back.Text != msg {
		t.Errorf("round trip: %q, %v; want %q", back.Text, err, msg)
	}
}

func TestDefaults(t *testing.T) {
	t.Parallel()
	d := Kind{}.Defaults()
	want := senders.Settings{LimitName: "destination"}
	if !reflect.DeepEqual(d, want) {
		t.Errorf("defaults %+v, want %+v", d, want)
	}
	if n := (Kind{}).Notation(); n.Defaults != "" || n.Neutralize != nil || n.Finish != nil || n.Wrap == nil {
		t.Errorf("notation: want the shared text templates, wrapped")
	}
}
