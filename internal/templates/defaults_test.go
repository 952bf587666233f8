package templates_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/relayhq/relay/internal/alert"
	"github.com/relayhq/relay/internal/senders"
	"github.com/relayhq/relay/internal/templates"
)

// checkDefault renders d with the built-in template for every sender kind
// and fails on an error, an empty message or a "<no value>".
func checkDefault(t *testing.T, tm *templates.Templates, d *alert.Data) {
	t.Helper()
	for _, k := range allKinds {
		got, err := tm.Render(k.Notation(), "", d)
		if err != nil {
			t.Fatalf("Render(%s) of %+v: %v", k.Name(), d, err)
		}
		if strings.Contains(got, "<no value>") {
			t.Errorf("Render(%s) = %q, prints <no value>", k.Name(), got)
		}
	}
}

func TestDefaultsNeverFail(t *testing.T) {
	t.Parallel()
	tm := mustNew(t, nil)
	odd := map[string]any{
		"object_attributes": "not an object", "builds": "not a list", "workflow_run": []any{1, nil},
		"title": nil, "status": map[string]any{}, "description": 3.5, "": "",
	}
	tests := map[string]*alert.Data{
		"zero data":            {},
		"alertmanager empty":   {Source: alert.SourceAlertmanager, Kind: alert.KindAlertmanager, Status: alert.StatusFiring},
		"resolved no alerts":   {Source: alert.SourceAlertmanager, Kind: alert.KindAlertmanager, Status: alert.StatusResolved},
		"alert with nil maps":  {Kind: alert.KindAlertmanager, Alerts: alert.Alerts{{Status: alert.StatusFiring}}},
		"alert unknown state":  {Kind: alert.KindAlertmanager, Alerts: alert.Alerts{{Status: "pending", Labels: alert.KV{"alertname": "X"}}}},
		"resolved zero times":  {Kind: alert.KindGrafanaUnified, Alerts: alert.Alerts{{Status: alert.StatusResolved, EndsAt: time.Time{}}}},
		"legacy bare":          {Source: alert.SourceGrafana, Kind: alert.KindGrafanaLegacy},
		"unknown kind":         {Source: "other", Kind: "other"},
		"grafana no kind":      {Source: alert.SourceGrafana},
		"generic text no kind": {Source: alert.SourceGeneric, Text: "hello"},
		"generic no kind":      {Source: alert.SourceGeneric, Payload: map[string]any{"a": 1.0}},
		"json nil payload":     {Source: alert.SourceGeneric, Kind: alert.KindJSON},
		"json empty payload":   {Source: alert.SourceGeneric, Kind: alert.KindJSON, Payload: map[string]any{}},
		"json odd payload":     {Source: alert.SourceGeneric, Kind: alert.KindJSON, Payload: odd},
		"text empty":           {Source: alert.SourceGeneric, Kind: alert.KindText},
		"gitlab nil payload":   {Source: alert.SourceGeneric, Kind: alert.KindGitLabPipeline},
		"gitlab odd payload":   {Source: alert.SourceGeneric, Kind: alert.KindGitLabPipeline, Payload: odd},
		"github nil payload":   {Source: alert.SourceGeneric, Kind: alert.KindGitHubWorkflowRun},
		"github odd payload":   {Source: alert.SourceGeneric, Kind: alert.KindGitHubWorkflowRun, Payload: odd},
		"many alert names": (&alert.Data{Kind: alert.KindAlertmanager}).WithAlerts(alert.Alerts{
			{Status: alert.StatusFiring, Labels: alert.KV{"alertname": "A"}}, {Status: alert.StatusFiring, Labels: alert.KV{"alertname": "B"}},
			{Status: alert.StatusFiring, Labels: alert.KV{"alertname": "C"}}, {Status: alert.StatusFiring, Labels: alert.KV{"alertname": "D"}},
		}),
	}
	for name, d := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			checkDefault(t, tm, d)
		})
	}
}

// FuzzDefaults renders arbitrary JSON as every generic payload kind, and
// arbitrary label text as an alert: the built-in templates never fail.
func FuzzDefaults(f *testing.F) {
	f.Add(`{"object_attributes":{"id":1,"status":"failed"},"builds":[{"status":"failed"}]}`, "[toall]")
	f.Add(`{"workflow_run":{"conclusion":"success","run_number":"x"}}`, "")
	f.Add(`{"title":["a"],"status":{"x":1}}`, "{{")
	tm, err := templates.New(builtins())
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, payload, label string) {
		var p map[string]any
		if json.Unmarshal([]byte(payload), &p) != nil {
			return
		}
		for _, kind := range []string{alert.KindJSON, alert.KindGitLabPipeline, alert.KindGitHubWorkflowRun} {
			checkDefault(t, tm, &alert.Data{Source: alert.SourceGeneric, Kind: kind, Payload: p, Status: label})
		}
		d := (&alert.Data{Source: alert.SourceAlertmanager, Kind: alert.KindAlertmanager}).WithAlerts(alert.Alerts{
			{Status: label, Labels: alert.KV{"alertname": label, label: label}, Annotations: alert.KV{"summary": label}},
		})
		checkDefault(t, tm, d)
	})
}

func TestDefaultsSayResolved(t *testing.T) {
	t.Parallel()
	tm := mustNew(t, nil)
	am := sample(alert.KindAlertmanager)
	tests := map[string]struct {
		d    *alert.Data
		want string
	}{
		"alertmanager all resolved": {am.WithAlerts(am.Alerts.Resolved()), "[RESOLVED] HighErrorRate (critical)"},
		"alertmanager firing":       {am, "[FIRING:1] HighErrorRate (critical)"},
		"generic ok":                {&alert.Data{Kind: alert.KindJSON, Payload: map[string]any{"title": "Backup", "status": "OK"}}, "[RESOLVED] Backup"},
		"generic error":             {&alert.Data{Kind: alert.KindJSON, Payload: map[string]any{"title": "Backup", "status": "error"}}, "Backup (error)"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			for _, k := range allKinds {
				got, err := tm.Render(k.Notation(), "", tt.d)
				if err != nil {
					t.Fatalf("Render: %v", err)
				}
				first := strings.SplitN(strings.TrimPrefix(strings.TrimPrefix(got, "[info]"), "[title]"), "\n", 2)[0]
				if !strings.HasPrefix(first, tt.want) {
					t.Errorf("Render(%s) starts %q, want %q", k.Name(), first, tt.want)
				}
			}
		})
	}
}

func TestCheck(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		files map[string]string
		tmpl  string
		want  []string // substrings of the error; none = passes
	}{
		{"template for one source passes", map[string]string{"gl.tmpl": `{{ .Payload.object_attributes.status }}`}, "gl", nil},
		{"a template calling helpers", map[string]string{"h.tmpl": `{{ define "line" }}{{ .Labels.alertname }}{{ end }}
{{ define "main" }}{{ range .Alerts }}{{ template "line" . }}{{ end }}{{ end }}`}, "main", nil},
		{"an Alertmanager-style template", map[string]string{"slack.tmpl": `{{ define "slack.mine.text" }}{{ template "__text_alert_list" .Alerts.Firing }}{{ end }}`}, "slack.mine.text", nil},
		{"fails on every sample", map[string]string{"bad.tmpl": "ok\n{{ index .Alerts 99 }}"}, "bad", []string{`check template "bad" for chatwork with a alertmanager sample`, "bad.tmpl:2:3", "index out of range"}},
		{"calls a missing template", map[string]string{"m.tmpl": `{{ template "nowhere" . }}`}, "m", []string{`"m"`, "nowhere"}},
		{"empty on every sample", map[string]string{"e.tmpl": `{{ define "e2" }}{{ if false }}x{{ end }} {{ end }}`}, "e2", []string{`"e2"`, "empty"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := mustNew(t, tt.files).Check(chatworkKind.Notation(), chatworkKind.Name(), tt.tmpl)
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("Check: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("Check passed, want an error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

// TestHelpersAreNotChecked: a helper that takes a list fails on
// notification data, and New and Check of the template that uses it
// still pass, as Alertmanager's own __text_alert_list does.
func TestHelpersAreNotChecked(t *testing.T) {
	t.Parallel()
	tm := mustNew(t, map[string]string{"list.tmpl": `{{ define "my.list" }}{{ range . }}{{ .Labels.alertname }}{{ end }}{{ end }}
{{ define "my.message" }}{{ template "my.list" .Alerts }}{{ end }}`})
	if err := tm.Check(consoleKind.Notation(), consoleKind.Name(), "my.message"); err != nil {
		t.Errorf("Check(my.message): %v", err)
	}
	if err := tm.Check(consoleKind.Notation(), consoleKind.Name(), "my.list"); err == nil {
		t.Error("Check(my.list) passed on notification data, want the error a target naming it would get")
	}
}

// TestSilenceLink: the default Alertmanager templates link a firing
// group to Alertmanager's new-silence form for the group's labels, and
// nothing else gets the link.
func TestSilenceLink(t *testing.T) {
	t.Parallel()
	tm := mustNew(t, nil)
	const form = "/#/silences/new?filter="
	firing := sample(alert.KindAlertmanager)
	with := func(f func(d *alert.Data)) *alert.Data {
		d := *sample(alert.KindAlertmanager)
		f(&d)
		return &d
	}
	tests := []struct {
		name string
		d    *alert.Data
		want string // the Silence line, "" for none
	}{
		{"firing", firing, "Silence: http://alertmanager.example.com" + form + "%7Balertname%3D%22HighErrorRate%22%7D"},
		{"the group's labels, not the common ones", with(func(d *alert.Data) { d.GroupLabels = alert.KV{"alertname": "HighErrorRate", "job": "api"} }),
			"Silence: http://alertmanager.example.com" + form + "%7Balertname%3D%22HighErrorRate%22%2C%20job%3D%22api%22%7D"},
		{"no group labels: the common ones", with(func(d *alert.Data) { d.GroupLabels = alert.KV{} }),
			"Silence: http://alertmanager.example.com" + form + "%7Balertname%3D%22HighErrorRate%22%2C%20job%3D%22api%22%2C%20severity%3D%22critical%22%7D"},
		{"no labels at all", with(func(d *alert.Data) { d.GroupLabels, d.CommonLabels = alert.KV{}, alert.KV{} }), ""},
		{"resolved", with(func(d *alert.Data) { d.Status = alert.StatusResolved }), ""},
		{"no external URL", with(func(d *alert.Data) { d.ExternalURL = "" }), ""},
		{"grafana", sample(alert.KindGrafanaUnified), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			for _, k := range allKinds {
				got, err := tm.Render(k.Notation(), "", tt.d)
				if err != nil {
					t.Fatalf("Render(%s): %v", k.Name(), err)
				}
				line := ""
				for _, l := range strings.Split(got, "\n") {
					if strings.HasPrefix(l, "Silence: ") && strings.Contains(l, form) {
						line = l
					}
				}
				if line != tt.want {
					t.Errorf("%s: silence line %q, want %q", k.Name(), line, tt.want)
				}
			}
		})
	}
}

// TestSilenceLinkIsInert: a label value with Chatwork tags reaches the
// link percent-encoded, so it cannot form a tag in the room.
func TestSilenceLinkIsInert(t *testing.T) {
	t.Parallel()
	tm := mustNew(t, nil)
	d := *sample(alert.KindAlertmanager)
	d.GroupLabels = alert.KV{"alertname": "[toall][info]x"}
	for _, k := range []senders.Kind{chatworkKind, messengerKind} {
		got, err := tm.Render(k.Notation(), "", &d)
		if err != nil {
			t.Fatal(err)
		}
		i := strings.Index(got, "Silence: ")
		if i < 0 {
			t.Fatalf("%s: no silence line in %q", k.Name(), got)
		}
		link := strings.SplitN(got[i:], "\n", 2)[0]
		if strings.ContainsAny(link, "[]") {
			t.Errorf("%s: link %q holds a bracket", k.Name(), link)
		}
	}
}
