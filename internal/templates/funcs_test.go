package templates

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/relayhq/relay/internal/alert"
	"github.com/relayhq/relay/internal/delivery"
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
	got, err := tm.Render(delivery.KindChatMessenger, "ported", d)
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

// TestHumanizeDuration: Prometheus' humanizeDuration, as Alertmanager
// has it, and also on the json.Number of a generic payload.
func TestHumanizeDuration(t *testing.T) {
	t.Parallel()
	humanize := funcMap()["humanizeDuration"].(func(any) (string, error))
	tests := []struct {
		in   any
		want string
	}{
		{0, "0s"},
		{0.25, "250ms"},
		{90, "1m 30s"},
		{"899.99", "14m 59s"},
		{2 * time.Hour, "2h 0m 0s"},
		{json.Number("3725"), "1h 2m 5s"},
	}
	for _, tt := range tests {
		got, err := humanize(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("humanizeDuration(%v) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	if _, err := humanize("soon"); err == nil {
		t.Error(`humanizeDuration("soon") succeeded, want an error`)
	}
}

func TestFuncMapLeavesNoWayOut(t *testing.T) {
	t.Parallel()
	fm := funcMap()
	for _, name := range []string{"env", "expandenv", "getHostByName"} {
		if _, ok := fm[name]; ok {
			t.Errorf("function %q is available to templates", name)
		}
	}
	for _, name := range []string{"toUpper", "join", "date", "tz", "since", "humanizeDuration", "toJson", "dict", "list", "append", "now", "base64encode", "base64decode", "safeUrl", "urlUnescape", "stringSlice", "match", "reReplaceAll", "title", "trimSpace", "toLower", "indent", "default"} {
		if _, ok := fm[name]; !ok {
			t.Errorf("function %q is missing", name)
		}
	}
}

func TestJoinTakesSeparatorFirst(t *testing.T) {
	t.Parallel()
	// sprig's join takes the list first; Alertmanager's wins.
	tm := mustNew(t, map[string]string{"j.tmpl": `{{ .CommonLabels.Names | join "," }}`})
	got, err := tm.Render(delivery.KindConsole, "j", sample(alert.KindAlertmanager))
	if err != nil || got != "alertname,job,severity" {
		t.Errorf("Render = %q, %v; want alertname,job,severity", got, err)
	}
}

func TestField(t *testing.T) {
	t.Parallel()
	p := map[string]any{
		"a":    map[string]any{"b": map[string]any{"c": "deep"}},
		"id":   float64(1234567890),
		"f":    1.5,
		"ok":   true,
		"list": []any{"x", float64(2)},
		"str":  "text",
	}
	tests := []struct{ path, want string }{
		{"a.b.c", "deep"},
		{"id", "1234567890"},
		{"f", "1.5"},
		{"ok", "true"},
		{"list", `["x",2]`},
		{"a.b", `{"c":"deep"}`},
		{"missing", ""},
		{"str.below", ""},
		{"a.missing.c", ""},
	}
	for _, tt := range tests {
		if got := field(tt.path, p); got != tt.want {
			t.Errorf("field(%q) = %q, want %q", tt.path, got, tt.want)
		}
	}
	if got := field("a", nil); got != "" {
		t.Errorf("field on nil = %q, want empty", got)
	}
	if got := fieldList("list", p); len(got) != 2 {
		t.Errorf("fieldList(list) = %v, want 2 items", got)
	}
	if got := fieldList("str", p); got != nil {
		t.Errorf("fieldList(str) = %v, want nil", got)
	}
	if got := strings.Join(fields(p).Names(), ","); got != "a,f,id,list,ok,str" {
		t.Errorf("fields names = %s", got)
	}
}
