package templates

import (
	"errors"
	"github.com/relayhq/relay/internal/senders/chatwork"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/relayhq/relay/internal/alert"
	"github.com/relayhq/relay/internal/delivery"
)

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

func mustNew(t *testing.T, files map[string]string) *Templates {
	t.Helper()
	dir := ""
	if files != nil {
		dir = writeTemplates(t, files)
	}
	tm, err := New(dir)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return tm
}

func sample(kind string) *alert.Data {
	for _, d := range Samples() {
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
		"wrap.tmpl":  `Paged: {{ template "text.alertmanager" . }}`,
		"notes.txt":  `{{ define "notes" }}any extension loads{{ end }}`,
		"blank.tmpl": "\n  \n",
		"zero.tmpl":  `missing:{{ .CommonLabels.nope }}{{ (index .Alerts 0).Annotations.nope }}.`,
	})
	tests := []struct {
		name, kind, tmpl, want string
	}{
		{"whole file by base name", delivery.KindChatMessenger, "short", "FIRING: HighErrorRate x2"},
		{"whole file by file name", delivery.KindChatMessenger, "short.tmpl", "FIRING: HighErrorRate x2"},
		{"a .txt file", delivery.KindConsole, "notes", "any extension loads"},
		{"a built-in Alertmanager template", delivery.KindConsole, "__subject", "[FIRING:1] HighErrorRate (api critical)"},
		{"define in a file", delivery.KindChatwork, "ops.chatwork", "[info][title]HighErrorRate on api[/title]chatwork-ops[/info]"},
		{"helper define", delivery.KindConsole, "ops.title", "HighErrorRate on api"},
		{"custom calls a built-in", delivery.KindChatMessenger, "wrap", "Paged: [FIRING:1] HighErrorRate (critical)"},
		{"missing label prints nothing", delivery.KindChatwork, "zero", "missing:."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := tm.Render(tt.kind, tt.tmpl, sample(alert.KindAlertmanager))
			if err != nil {
				t.Fatalf("Render: %v", err)
			}
			if !strings.HasPrefix(got, tt.want) {
				t.Errorf("Render = %q, want it to start with %q", got, tt.want)
			}
		})
	}
	if got, want := tm.Names(), []string{"notes", "ops.chatwork", "ops.title", "short", "short.tmpl", "wrap", "wrap.tmpl", "zero", "zero.tmpl"}; !reflect.DeepEqual(got, want) {
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
			_, err := New(writeTemplates(t, tt.files))
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
	tm, err := New(empty, filepath.Join(empty, "*.tmpl"))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if len(tm.Names()) != 0 {
		t.Errorf("Names() = %q, want none", tm.Names())
	}
	// A directory or file that does not exist is a mistake.
	missing := filepath.Join(empty, "none")
	if _, err := New(missing); err == nil || !strings.Contains(err.Error(), missing) {
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
		tm, err := New(tt.paths...)
		if err != nil {
			t.Fatalf("New(%q): %v", tt.paths, err)
		}
		got, err := tm.Render(delivery.KindConsole, tt.name, sample(alert.KindAlertmanager))
		if err != nil || got != tt.want {
			t.Errorf("New(%q): %s = %q, %v; want %q", tt.paths, tt.name, got, err, tt.want)
		}
	}
	// The built-in default never sees a custom file's definitions.
	tm, err := New(writeTemplates(t, map[string]string{"r.tmpl": `{{ define "relay.title" }}hijacked{{ end }}`}))
	if err != nil {
		t.Fatal(err)
	}
	got, err := tm.Render(delivery.KindConsole, "", sample(alert.KindAlertmanager))
	if err != nil || strings.Contains(got, "hijacked") {
		t.Errorf("default render = %q, %v; want the built-in title", got, err)
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
		name, kind, tmpl, want string
	}{
		{"failing custom template", delivery.KindChatwork, "fails", "index out of range"},
		{"empty result", delivery.KindChatMessenger, "empty", "empty message"},
		{"function error", delivery.KindConsole, "tz", "load time zone"},
		{"unknown template", delivery.KindChatwork, "nope", "no such template"},
		{"unknown kind with default", "slack", "", "unknown sender kind"},
		{"unknown kind with custom", "slack", "fails", "unknown sender kind"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := tm.Render(tt.kind, tt.tmpl, sample(alert.KindAlertmanager))
			if err == nil {
				t.Fatalf("Render = %q, want an error", got)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not mention %q", err, tt.want)
			}
		})
	}
	_, err := tm.Render(delivery.KindChatwork, "empty", sample(alert.KindAlertmanager))
	if !errors.Is(err, errEmpty) {
		t.Errorf("empty result error %v is not errEmpty", err)
	}
}

func TestRenderDoesNotMutateData(t *testing.T) {
	t.Parallel()
	tm := mustNew(t, map[string]string{
		"mutate.tmpl": `{{ $_ := set .Payload "title" "changed" }}{{ $_ := unset .Payload "host" }}{{ .Payload.title }}`,
	})
	d := sample(alert.KindJSON)
	for _, kind := range []string{delivery.KindChatwork, delivery.KindChatMessenger} {
		got, err := tm.Render(kind, "mutate", d)
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
		got, err := tm.Render(delivery.KindChatwork, name, d)
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
	got, err := tm.Render(delivery.KindChatMessenger, "", d)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(got, "[toall]Evil") {
		t.Errorf("plain text Render = %q, want the label as it is", got)
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
		got, err := tm.Render(delivery.KindChatwork, name, d)
		if err != nil {
			t.Fatalf("Render(%s): %v", name, err)
		}
		if chatwork.Neutralize(got) != got {
			t.Errorf("Render(%s) = %q: alert text formed a live tag", name, got)
		}
		plain, err := tm.Render(delivery.KindConsole, name, d)
		if err != nil || !strings.Contains(plain, "[toall]Evil") {
			t.Errorf("plain Render(%s) = %q, %v; want the label as it is", name, plain, err)
		}
	}
}
