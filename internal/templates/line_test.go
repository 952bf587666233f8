package templates_test

import (
	"strings"
	"testing"

	"github.com/relayhq/relay/internal/alert"
	"github.com/relayhq/relay/internal/senders"
	"github.com/relayhq/relay/internal/templates"
)

func TestRenderLine(t *testing.T) {
	t.Parallel()
	tm := mustNew(t, map[string]string{
		"ops.tmpl": `{{ define "ops" }}[info]{{ .Receiver }}[/info]{{ end }}
{{ define "ops.line" }}OPS {{ .Status }}
  {{ .CommonLabels.alertname }}   on {{ .CommonLabels.job }}{{ end }}`,
		"plain.tmpl":   `{{ define "plain" }}{{ .Receiver }}{{ end }}`,
		"broken.tmpl":  `{{ define "broken" }}x{{ end }}{{ define "broken.line" }}{{ (index .Alerts 9).Labels.x }}{{ end }}`,
		"mention.tmpl": `{{ define "mention" }}x{{ end }}{{ define "mention.line" }}[to{{ "" }}all] {{ .CommonLabels.alertname }}{{ end }}`,
	})
	am := sample(alert.KindAlertmanager)
	cases := []struct {
		name string
		kind senders.Kind
		tmpl string
		want string
	}{
		{"built-in, Chatwork", chatworkKind, "", "[FIRING:1] HighErrorRate (critical): Error rate above 5% on web-1"},
		{"built-in, plain text", messengerKind, "", "[FIRING:1] HighErrorRate (critical): Error rate above 5% on web-1"},
		{"the target's template.line, folded onto one line", consoleKind, "ops", "OPS firing HighErrorRate on api"},
		{"a template without .line: the notation's built-in line", chatworkKind, "plain", "[FIRING:1] HighErrorRate (critical): Error rate above 5% on web-1"},
		{"a mention a line template joins is disarmed", chatworkKind, "mention", "［toall] HighErrorRate"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			got, err := tm.RenderLine(c.kind.Notation(), c.tmpl, am)
			if err != nil {
				t.Fatalf("RenderLine: %v", err)
			}
			if got != c.want {
				t.Errorf("RenderLine = %q, want %q", got, c.want)
			}
		})
	}
	if _, err := tm.RenderLine(consoleKind.Notation(), "broken", am); err == nil {
		t.Error("a failing line template: no error")
	}
}

func TestRenderLineOfEveryPayloadKind(t *testing.T) {
	t.Parallel()
	tm := mustNew(t, nil)
	for _, d := range templates.Samples() {
		for _, k := range allKinds {
			line, err := tm.RenderLine(k.Notation(), "", d)
			if err != nil {
				t.Errorf("%s, %s: %v", d.Kind, k.Name(), err)
				continue
			}
			if line == "" || strings.Contains(line, "\n") || len(line) > templates.MaxLineLen {
				t.Errorf("%s, %s: line %q is not one short line", d.Kind, k.Name(), line)
			}
		}
	}
}

func TestRenderLineNeutralisesAlertText(t *testing.T) {
	t.Parallel()
	tm := mustNew(t, nil)
	d := sample(alert.KindAlertmanager)
	d.CommonAnnotations = alert.KV{"summary": "disk full [toall] [/info][info]"}
	got, err := tm.RenderLine(chatworkKind.Notation(), "", d)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(got, "[toall]") || strings.Contains(got, "[/info]") {
		t.Errorf("alert text formed live Chatwork tags in the line: %q", got)
	}
	long := sample(alert.KindAlertmanager)
	long.CommonAnnotations = alert.KV{"summary": strings.Repeat("very long summary ", 100)}
	if got, err := tm.RenderLine(chatworkKind.Notation(), "", long); err != nil || len(got) != templates.MaxLineLen {
		t.Errorf("a long line: %d units, %v; want cut to %d", len(got), err, templates.MaxLineLen)
	}
}

func TestHeaded(t *testing.T) {
	t.Parallel()
	if got, want := chatworkKind.Notation().Headed("Alert storm: 2", "a\nb [toall]"), "[info][title]Alert storm: 2[/title]a\nb ［toall][/info]"; got != want {
		t.Errorf("Chatwork Headed = %q, want %q", got, want)
	}
	if got, want := messengerKind.Notation().Headed("Alert storm: 2", "a\nb"), "Alert storm: 2\na\nb"; got != want {
		t.Errorf("plain Headed = %q, want %q", got, want)
	}
}

// TestRenderFromOnePrepared renders a message and its line from one
// Prepared, as intake does, and checks both equal what rendering each from
// the alert data gives, and that the caller's data is left as it was.
func TestRenderFromOnePrepared(t *testing.T) {
	t.Parallel()
	tm := mustNew(t, nil)
	for _, kind := range []string{alert.KindAlertmanager, alert.KindGrafanaUnified, alert.KindJSON, alert.KindText} {
		for _, k := range allKinds {
			d := sample(kind)
			d.CommonLabels = alert.KV{"alertname": "[toall] x"}
			n := k.Notation()
			wantParts, err := tm.RenderParts(n, "", d, 120)
			if err != nil {
				t.Fatalf("%s: RenderParts: %v", kind, err)
			}
			wantLine, err := tm.RenderLine(n, "", d)
			if err != nil {
				t.Fatalf("%s: RenderLine: %v", kind, err)
			}
			p := templates.Prepare(n, d)
			parts, err := tm.RenderPreparedParts(p, "", 120)
			if err != nil {
				t.Fatalf("%s: RenderPreparedParts: %v", kind, err)
			}
			line, err := tm.RenderPreparedLine(p, "")
			if err != nil {
				t.Fatalf("%s: RenderPreparedLine: %v", kind, err)
			}
			if strings.Join(parts, "\x00") != strings.Join(wantParts, "\x00") || line != wantLine {
				t.Errorf("%s: from one Prepared: %q, %q; want %q, %q", kind, parts, line, wantParts, wantLine)
			}
			if d.CommonLabels["alertname"] != "[toall] x" {
				t.Errorf("%s: Prepare changed the caller's data: %q", kind, d.CommonLabels["alertname"])
			}
		}
	}
}
