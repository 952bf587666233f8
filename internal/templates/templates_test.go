package templates_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/relayhq/relay/internal/alert"
	"github.com/relayhq/relay/internal/senders"
	"github.com/relayhq/relay/internal/senders/chatmessenger"
	"github.com/relayhq/relay/internal/senders/chatwork"
	"github.com/relayhq/relay/internal/senders/console"
	"github.com/relayhq/relay/internal/templates"
)

// The sender kinds whose notations the tests render in, as cmd/relay
// lists them: Chatwork's own notation and templates, and two plain-text
// kinds on the shared text templates.
var (
	chatworkKind  senders.Kind = chatwork.Kind{}
	messengerKind senders.Kind = chatmessenger.Kind{}
	consoleKind   senders.Kind = console.Kind{}
	allKinds                   = []senders.Kind{chatworkKind, messengerKind, consoleKind}
)

// builtins are the kinds' default templates, as cmd/relay loads them.
func builtins() []fs.FS {
	var out []fs.FS
	for _, k := range allKinds {
		out = append(out, k.Templates())
	}
	return out
}

// writeTemplates writes files (name -> content) into a new directory.
func writeTemplates(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, src := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func mustNew(t *testing.T, files map[string]string) *templates.Templates {
	t.Helper()
	dir := ""
	if files != nil {
		dir = writeTemplates(t, files)
	}
	tm, err := templates.New(builtins(), dir)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return tm
}

func sample(kind string) *alert.Data {
	for _, d := range templates.Samples() {
		if d.Kind == kind {
			return d
		}
	}
	panic("no sample of kind " + kind)
}

func TestRenderCustomTemplate(t *testing.T) {
	t.Parallel()
	tm := mustNew(t, map[string]string{
		"short.tmpl": `{{ .Status | toUpper }}: {{ .CommonLabels.alertname }} x{{ len .Alerts }}`,
		"ops.tmpl": `{{ define "ops.title" }}{{ .CommonLabels.alertname }} on {{ .CommonLabels.job }}{{ end }}
{{ define "ops.chatwork" }}[info][title]{{ template "ops.title" . }}[/title]{{ .Receiver }}[/info]{{ end }}`,
		"wrap.tmpl":   `Paged: {{ template "text.alertmanager" . }}`,
		"wrapcw.tmpl": `Paged: {{ template "chatwork.alertmanager" . }}`,
		"notes.txt":   `{{ define "notes" }}any extension loads{{ end }}`,
		"blank.tmpl":  "\n  \n",
		"zero.tmpl":   `missing:{{ .CommonLabels.nope }}{{ (index .Alerts 0).Annotations.nope }}.`,
	})
	tests := []struct {
		name string
		kind senders.Kind
		tmpl string
		want string
	}{
		{"whole file by base name", messengerKind, "short", "FIRING: HighErrorRate x2"},
		{"whole file by file name", messengerKind, "short.tmpl", "FIRING: HighErrorRate x2"},
		{"a .txt file", consoleKind, "notes", "any extension loads"},
		{"a built-in Alertmanager template", consoleKind, "__subject", "[FIRING:1] HighErrorRate (api critical)"},
		{"define in a file", chatworkKind, "ops.chatwork", "[info][title]HighErrorRate on api[/title]ops[/info]"},
		{"helper define", consoleKind, "ops.title", "HighErrorRate on api"},
		{"custom calls a built-in", messengerKind, "wrap", "Paged: [FIRING:1] HighErrorRate (critical)"},
		{"custom calls a kind's built-in", messengerKind, "wrapcw", "Paged: [info][title][FIRING:1] HighErrorRate (critical)"},
		{"missing label prints nothing", chatworkKind, "zero", "missing:."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := tm.Render(tt.kind.Notation(), tt.tmpl, sample(alert.KindAlertmanager))
			if err != nil {
				t.Fatalf("Render: %v", err)
			}
			if !strings.HasPrefix(got, tt.want) {
				t.Errorf("Render = %q, want it to start with %q", got, tt.want)
			}
		})
	}
	if got, want := tm.Names(), []string{"notes", "ops.chatwork", "ops.title", "short", "short.tmpl", "wrap", "wrap.tmpl", "wrapcw", "wrapcw.tmpl", "zero", "zero.tmpl"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Names() = %q, want %q", got, want)
	}
	for name, want := range map[string]bool{"short": true, "ops.title": true, "chatwork.alertmanager": true, "slack.default.title": true,
		"slack.default.text": true, "ops.tmpl": true, "blank.tmpl": true, "notes.txt": true, "ops": false, "blank": false, "nope": false} {
		if got := tm.Has(name); got != want {
			t.Errorf("Has(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestNewRejectsBadFiles(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		files map[string]string
		want  []string // substrings of the error
	}{
		{
			name:  "parse error names file and line",
			files: map[string]string{"broken.tmpl": "line one\nline two\n{{ .Status ) }}\nline four\n"},
			want:  []string{"/broken.tmpl: template: broken.tmpl:3: unexpected right paren"},
		},
		{
			name:  "unknown function",
			files: map[string]string{"fn.tmpl": "ok\n{{ nosuchfunc .Status }}"},
			want:  []string{"fn.tmpl", "fn.tmpl:2", `"nosuchfunc" not defined`},
		},
		{
			name:  "env is not available",
			files: map[string]string{"secret.tmpl": `{{ env "RELAY_CHATWORK_TOKEN" }}`},
			want:  []string{"secret.tmpl", `"env" not defined`},
		},
		{
			name:  "expandenv is not available",
			files: map[string]string{"secret.tmpl": `{{ expandenv "$RELAY_CHATWORK_TOKEN" }}`},
			want:  []string{"secret.tmpl", `"expandenv" not defined`},
		},
		{
			name:  "a bad file among good ones",
			files: map[string]string{"a.tmpl": `{{ define "a" }}A{{ end }}`, "b.txt": "{{ define \"b\" }}\n{{ end }}{{ end }}"},
			want:  []string{"/b.txt: template: b.txt:2: unexpected {{end}}"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := templates.New(builtins(), writeTemplates(t, tt.files))
			if err == nil {
				t.Fatal("New succeeded, want an error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestNewMissingPaths(t *testing.T) {
	t.Parallel()
	// An empty directory, and a glob that matches nothing (as in
	// Alertmanager), load no templates.
	empty := t.TempDir()
	tm, err := templates.New(builtins(), empty, filepath.Join(empty, "*.tmpl"))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if len(tm.Names()) != 0 {
		t.Errorf("Names() = %q, want none", tm.Names())
	}
	// A directory or file that does not exist is a mistake.
	missing := filepath.Join(empty, "none")
	if _, err := templates.New(builtins(), missing); err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("New(%s) = %v, want an error naming it", missing, err)
	}
}

// TestLoadOrder: files load in order, sorted within a directory or glob,
// and a later definition of a name replaces the earlier one, built-in
// names included, as in Alertmanager; an empty definition replaces none.
func TestLoadOrder(t *testing.T) {
	t.Parallel()
	a := writeTemplates(t, map[string]string{
		"1.tmpl": `{{ define "title" }}from 1{{ end }}{{ define "kept" }}kept{{ end }}`,
		"2.tmpl": `{{ define "title" }}from 2{{ end }}{{ define "__subject" }}mine{{ end }}`,
	})
	b := writeTemplates(t, map[string]string{
		"x.tpl":  `{{ define "title" }}from x{{ end }}{{ define "kept" }}{{ end }}`,
		"y.tmpl": `{{ define "title" }}from y{{ end }}`,
	})
	tests := []struct {
		paths []string
		name  string
		want  string
	}{
		{[]string{a}, "title", "from 2"},
		{[]string{a, filepath.Join(b, "*.tpl")}, "title", "from x"},
		{[]string{filepath.Join(b, "*"), a}, "title", "from 2"},
		{[]string{a, b}, "title", "from y"},
		{[]string{a, b}, "kept", "kept"},
		{[]string{a}, "slack.default.title", "mine"},
	}
	for _, tt := range tests {
		tm, err := templates.New(builtins(), tt.paths...)
		if err != nil {
			t.Fatalf("New(%q): %v", tt.paths, err)
		}
		got, err := tm.Render(consoleKind.Notation(), tt.name, sample(alert.KindAlertmanager))
		if err != nil || got != tt.want {
			t.Errorf("New(%q): %s = %q, %v; want %q", tt.paths, tt.name, got, err, tt.want)
		}
	}
	// The built-in defaults, the kinds' among them, never see a custom
	// file's definitions.
	tm, err := templates.New(builtins(), writeTemplates(t, map[string]string{"r.tmpl": `{{ define "relay.title" }}hijacked{{ end }}
{{ define "chatwork.alertmanager" }}hijacked{{ end }}`}))
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range allKinds {
		got, err := tm.Render(k.Notation(), "", sample(alert.KindAlertmanager))
		if err != nil || strings.Contains(got, "hijacked") {
			t.Errorf("%s default render = %q, %v; want the built-in title", k.Name(), got, err)
		}
	}
	// A target naming the built-in name gets the custom definition, as in
	// Alertmanager.
	if got, err := tm.Render(chatworkKind.Notation(), "chatwork.alertmanager", sample(alert.KindAlertmanager)); err != nil || got != "hijacked" {
		t.Errorf("Render(chatwork.alertmanager) = %q, %v; want the custom definition", got, err)
	}
}

// TestKindTemplates: a kind's default templates load from its fs.FS after
// the shared ones, and a notation names them by its Defaults prefix.
func TestKindTemplates(t *testing.T) {
	t.Parallel()
	bare, err := templates.New(nil)
	if err != nil {
		t.Fatalf("New(nil): %v", err)
	}
	if bare.Has("chatwork.alertmanager") || !bare.Has("text.alertmanager") {
		t.Errorf("New(nil): Has(chatwork.alertmanager) = %v, Has(text.alertmanager) = %v; want only the shared templates",
			bare.Has("chatwork.alertmanager"), bare.Has("text.alertmanager"))
	}
	if _, err := bare.Render(chatworkKind.Notation(), "", sample(alert.KindAlertmanager)); err == nil ||
		!strings.Contains(err.Error(), `no built-in template "chatwork.alertmanager"`) {
		t.Errorf("Chatwork default without its templates: got %v, want no built-in template", err)
	}

	kind := fstest.MapFS{"templates/pager.tmpl": {Data: []byte(
		`{{ define "pager.alertmanager" }}PAGE {{ template "relay.title" . }}{{ end }}` +
			`{{ define "pager.json" }}PAGE {{ .Payload.title }}{{ end }}`)}}
	tm, err := templates.New([]fs.FS{nil, kind})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	pager := templates.Notation{Defaults: "pager"}
	if got, err := tm.Render(pager, "", sample(alert.KindAlertmanager)); err != nil || got != "PAGE [FIRING:1] HighErrorRate (critical)" {
		t.Errorf("Render(pager) = %q, %v; want the kind's template calling a shared one", got, err)
	}
	if got, err := tm.Render(pager, "", sample(alert.KindJSON)); err != nil || got != "PAGE Backup failed" {
		t.Errorf("Render(pager, json) = %q, %v; want pager.json", got, err)
	}
	if _, err := tm.Render(pager, "", sample(alert.KindGitLabPipeline)); err == nil ||
		!strings.Contains(err.Error(), `no built-in template "pager.gitlab_pipeline"`) {
		t.Errorf("a payload kind the kind has no template for: got %v, want no built-in template", err)
	}
	if tm.Names() != nil {
		t.Errorf("Names() = %q, want none: a kind's templates are built in", tm.Names())
	}

	broken := fstest.MapFS{"templates/bad.tmpl": {Data: []byte(`{{ define "bad.alertmanager" }}{{ .Status ) }}{{ end }}`)}}
	if _, err := templates.New([]fs.FS{broken}); err == nil || !strings.Contains(err.Error(), "parse built-in templates") {
		t.Errorf("New with a broken kind template: got %v, want a parse error", err)
	}
}

func TestRenderErrors(t *testing.T) {
	t.Parallel()
	tm := mustNew(t, map[string]string{
		"fails.tmpl": `{{ (index .Alerts 5).Labels.alertname }}`,
		"empty.tmpl": `{{ if false }}x{{ end }}   `,
		"tz.tmpl":    `{{ now | tz "Nowhere/Atlantis" }}`,
	})
	tests := []struct {
		name     string
		notation templates.Notation
		tmpl     string
		want     string
	}{
		{"failing custom template", chatworkKind.Notation(), "fails", "index out of range"},
		{"empty result", messengerKind.Notation(), "empty", "empty message"},
		{"function error", consoleKind.Notation(), "tz", "load time zone"},
		{"unknown template", chatworkKind.Notation(), "nope", "no such template"},
		{"notation without built-in templates", templates.Notation{Defaults: "slack"}, "", `no built-in template "slack.alertmanager"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := tm.Render(tt.notation, tt.tmpl, sample(alert.KindAlertmanager))
			if err == nil {
				t.Fatalf("Render = %q, want an error", got)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not mention %q", err, tt.want)
			}
		})
	}
	_, err := tm.Render(chatworkKind.Notation(), "empty", sample(alert.KindAlertmanager))
	if !errors.Is(err, templates.ErrEmpty) {
		t.Errorf("empty result error %v is not errEmpty", err)
	}
}

func TestRenderDoesNotMutateData(t *testing.T) {
	t.Parallel()
	tm := mustNew(t, map[string]string{
		"mutate.tmpl": `{{ $_ := set .Payload "title" "changed" }}{{ $_ := unset .Payload "host" }}{{ .Payload.title }}`,
	})
	d := sample(alert.KindJSON)
	for _, k := range []senders.Kind{chatworkKind, messengerKind} {
		got, err := tm.Render(k.Notation(), "mutate", d)
		if err != nil {
			t.Fatalf("Render: %v", err)
		}
		if got != "changed" {
			t.Errorf("Render = %q, want the template to see its own change", got)
		}
	}
	if d.Payload["title"] != "Backup failed" || d.Payload["host"] != "db-1" {
		t.Errorf("caller's payload changed to %v", d.Payload)
	}
}

func TestInjectionStaysInert(t *testing.T) {
	t.Parallel()
	tm := mustNew(t, map[string]string{
		"custom.tmpl": `[info][title]{{ .CommonLabels.alertname }}[/title]{{ range .Alerts }}{{ .Labels.team }} {{ .Annotations.summary }}{{ end }}[/info]`,
	})
	d := sample(alert.KindAlertmanager).WithAlerts(alert.Alerts{{
		Status:      alert.StatusFiring,
		Labels:      alert.KV{"alertname": "[toall]Evil", "severity": "[To:1]", "team": "[/info][To:1]"},
		Annotations: alert.KV{"summary": "[/title][toall][INFO]", "description": "[code][hr]"},
	}})
	d.Receiver, d.ExternalURL = "[toall]", "http://x/[/info]"

	for _, name := range []string{"", "custom"} {
		got, err := tm.Render(chatworkKind.Notation(), name, d)
		if err != nil {
			t.Fatalf("Render(%q): %v", name, err)
		}
		if !strings.HasPrefix(got, "[info][title]") || !strings.HasSuffix(got, "[/info]") {
			t.Errorf("Render(%q) = %q, want the template's own [info][title] live", name, got)
		}
		// Only the template's own tags are live: one info block, one title.
		inner := strings.TrimSuffix(strings.TrimPrefix(got, "[info][title]"), "[/info]")
		before, after, ok := strings.Cut(inner, "[/title]")
		if !ok {
			t.Fatalf("Render(%q) = %q has no live [/title]", name, got)
		}
		for _, part := range []string{before, after} {
			if chatwork.Neutralize(part) != part {
				t.Errorf("Render(%q) = %q: alert text formed a live tag in %q", name, got, part)
			}
		}
		if !strings.Contains(got, "［toall]Evil") {
			t.Errorf("Render(%q) = %q, want the label readable as ［toall]Evil", name, got)
		}
	}
	// Plain text is not escaped.
	got, err := tm.Render(messengerKind.Notation(), "", d)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(got, "[toall]Evil") {
		t.Errorf("plain text Render = %q, want the label as it is", got)
	}
}

// TestRenderPartsFinishes: RenderParts makes every part final, as the
// notation says: Chatwork disarms the mentions a template joined from
// pieces, and Wrap applies to the built-in templates only.
func TestRenderPartsFinishes(t *testing.T) {
	t.Parallel()
	tm := mustNew(t, map[string]string{"joined.tmpl": `{{ "[to" }}{{ "all]" }} {{ .CommonLabels.alertname }}`})
	d := sample(alert.KindAlertmanager)

	parts, err := tm.RenderParts(chatworkKind.Notation(), "joined", d, 0)
	if err != nil {
		t.Fatalf("RenderParts: %v", err)
	}
	if len(parts) != 1 || parts[0] != "［toall] HighErrorRate" {
		t.Errorf("Chatwork RenderParts = %q, want the joined [toall] disarmed", parts)
	}
	parts, err = tm.RenderParts(messengerKind.Notation(), "joined", d, 0)
	if err != nil || len(parts) != 1 || parts[0] != "[toall] HighErrorRate" {
		t.Errorf("plain RenderParts = %q, %v; want the text as the template wrote it", parts, err)
	}

	n := templates.Notation{
		Finish: strings.ToUpper,
		Wrap:   func(s string) string { return "<" + s + ">" },
	}
	parts, err = tm.RenderParts(n, "joined", d, 0)
	if err != nil || len(parts) != 1 || parts[0] != "[TOALL] HIGHERRORRATE" {
		t.Errorf("custom template RenderParts = %q, %v; want finished, not wrapped", parts, err)
	}
	parts, err = tm.RenderParts(n, "", storm(40), 2000)
	if err != nil {
		t.Fatalf("RenderParts: %v", err)
	}
	if len(parts) < 2 {
		t.Fatalf("got %d parts, want the storm split", len(parts))
	}
	for i, p := range parts {
		if !strings.HasPrefix(p, "<(") || !strings.HasSuffix(p, ">") || p != strings.ToUpper(p) {
			t.Errorf("part %d = %.40q...: want it numbered, finished and wrapped", i+1, p)
		}
	}
}

func TestNotationFinal(t *testing.T) {
	t.Parallel()
	n := templates.Notation{Finish: strings.TrimSpace, Wrap: func(s string) string { return `{"text":"` + s + `"}` }}
	if got := n.Final(" hi ", true); got != `{"text":"hi"}` {
		t.Errorf("Final(builtin) = %q, want finished then wrapped", got)
	}
	if got := n.Final(" hi ", false); got != "hi" {
		t.Errorf("Final(custom) = %q, want finished only", got)
	}
	if got := (templates.Notation{}).Final(" hi ", true); got != " hi " {
		t.Errorf("zero Notation Final = %q, want the message as it is", got)
	}
}

// TestAlertmanagerNamedTemplatesNeutralised: for Chatwork, the named
// templates of Alertmanager's default.tmpl see neutralised alert text too,
// and for plain text the text as it is.
func TestAlertmanagerNamedTemplatesNeutralised(t *testing.T) {
	t.Parallel()
	tm := mustNew(t, nil)
	d := sample(alert.KindAlertmanager).WithAlerts(alert.Alerts{{
		Status: alert.StatusFiring, Labels: alert.KV{"alertname": "[toall]Evil", "team": "[/info]"},
		Annotations: alert.KV{"summary": "[To:1] hi"},
	}})
	d.GroupLabels = alert.KV{"alertname": "[toall]Evil"}
	for _, name := range []string{"__subject", "slack.default.title", "telegram.default.message", "msteams.default.text"} {
		got, err := tm.Render(chatworkKind.Notation(), name, d)
		if err != nil {
			t.Fatalf("Render(%s): %v", name, err)
		}
		if chatwork.Neutralize(got) != got {
			t.Errorf("Render(%s) = %q: alert text formed a live tag", name, got)
		}
		plain, err := tm.Render(consoleKind.Notation(), name, d)
		if err != nil || !strings.Contains(plain, "[toall]Evil") {
			t.Errorf("plain Render(%s) = %q, %v; want the label as it is", name, plain, err)
		}
	}
}
