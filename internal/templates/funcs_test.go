package templates_test

import (
	"testing"

	"github.com/relayhq/relay/internal/alert"
)

// TestAlertmanagerTemplatePorts renders a template written for
// Alertmanager, using its functions, unchanged.
func TestAlertmanagerTemplatePorts(t *testing.T) {
	t.Parallel()
	tm := mustNew(t, map[string]string{"ported.tmpl": `
{{- define "__subject" }}[{{ .Status | toUpper }}{{ if eq .Status "firing" }}:{{ .Alerts.Firing | len }}{{ end }}] {{ .GroupLabels.SortedPairs.Values | join " " }}{{ end -}}
{{ template "__subject" . }}
{{ range .Alerts -}}
{{ .Labels.alertname | toLower }} {{ .StartsAt | tz "Asia/Tokyo" | date "2006-01-02 15:04 MST" }} for {{ .EndsAt.Sub .StartsAt | humanizeDuration }} ok={{ gt (since .StartsAt).Hours 1.0 }}
{{ reReplaceAll ":[0-9]+$" "" .Labels.instance }} {{ if match "^web-" .Labels.instance }}web{{ end }} {{ .Labels.job | title }}
{{ end -}}
{{ .CommonLabels.Remove (stringSlice "alertname" "severity") | toJson }}
{{ (dict "a" 1 "b" (list "x" "y")) | toJson }} {{ append (list 1) 2 | toJson }}
{{ "a b" | base64encode }} {{ "YSBi" | base64decode }} {{ "a%20b" | urlUnescape }} {{ safeUrl "http://x/?a=b" }} {{ trimSpace "  t  " }}
{{ now | date "2006" | len }}`})
	d := sample(alert.KindAlertmanager).WithAlerts(sample(alert.KindAlertmanager).Alerts[1:])
	got, err := tm.Render(messengerKind.Notation(), "ported", d)
	if err != nil {
		t.Fatalf("Render: %v", err)
	}
	want := `[RESOLVED] HighErrorRate
higherrorrate 2024-05-01 19:00 JST for 15m 0s ok=true
web-2 web Api
{"instance":"web-2:9090","job":"api"}
{"a":1,"b":["x","y"]} [1,2]
YSBi a b a b http://x/?a=b t
4`
	if got != want {
		t.Errorf("Render =\n%s\nwant\n%s", got, want)
	}
}

func TestJoinTakesSeparatorFirst(t *testing.T) {
	t.Parallel()
	// sprig's join takes the list first; Alertmanager's wins.
	tm := mustNew(t, map[string]string{"j.tmpl": `{{ .CommonLabels.Names | join "," }}`})
	got, err := tm.Render(consoleKind.Notation(), "j", sample(alert.KindAlertmanager))
	if err != nil || got != "alertname,job,severity" {
		t.Errorf("Render = %q, %v; want alertname,job,severity", got, err)
	}
}
