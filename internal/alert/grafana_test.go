package alert

import (
	"strings"
	"testing"
)

func TestDecodeGrafanaUnifiedFixtures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file     string
		status   string
		title    string
		values   map[string]float64
		endsAt   string
		imageURL bool
	}{
		{file: "grafana/unified_firing.json", status: StatusFiring,
			title:  "[FIRING:1] High CPU usage Infrastructure (node-3.prod.example.com:9100 node warning)",
			values: map[string]float64{"A": 94.3, "C": 1}, imageURL: true},
		{file: "grafana/unified_resolved.json", status: StatusResolved,
			title:  "[RESOLVED] High CPU usage Infrastructure (node-3.prod.example.com:9100 node warning)",
			values: map[string]float64{"A": 41.7, "C": 0}, endsAt: "2024-05-14T10:31:30Z"},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			t.Parallel()
			d, err := DecodeGrafana(fixture(t, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			if d.Source != SourceGrafana || d.Kind != KindGrafanaUnified {
				t.Errorf("got source %q kind %q, want grafana grafana_unified", d.Source, d.Kind)
			}
			if d.Status != tc.status || d.Title != tc.title || d.OrgID != 1 || d.Receiver != "relay-infra" {
				t.Errorf("got status %q title %q orgId %d receiver %q", d.Status, d.Title, d.OrgID, d.Receiver)
			}
			if !strings.HasPrefix(d.Message, "**") || d.GroupKey == "" || d.ExternalURL != "https://grafana.example.com/" {
				t.Errorf("got message %q groupKey %q externalURL %q", d.Message, d.GroupKey, d.ExternalURL)
			}
			if len(d.Alerts) != 1 {
				t.Fatalf("got %d alerts, want 1", len(d.Alerts))
			}
			a := d.Alerts[0]
			if a.Status != tc.status || a.Labels["alertname"] != "High CPU usage" || a.Labels["severity"] != "warning" {
				t.Errorf("got alert %q labels %v", a.Status, a.Labels)
			}
			for k, v := range tc.values {
				if a.Values[k] != v {
					t.Errorf("got value %s=%v, want %v", k, a.Values[k], v)
				}
			}
			if !strings.Contains(a.ValueString, "var='A'") {
				t.Errorf("got valueString %q", a.ValueString)
			}
			if !strings.Contains(a.DashboardURL, "/d/rYdddlPWk") || !strings.Contains(a.PanelURL, "viewPanel=3") ||
				!strings.Contains(a.SilenceURL, "/alerting/silence/new") {
				t.Errorf("got dashboard %q panel %q silence %q", a.DashboardURL, a.PanelURL, a.SilenceURL)
			}
			if got := a.ImageURL != ""; got != tc.imageURL {
				t.Errorf("got imageURL %q, want one: %v", a.ImageURL, tc.imageURL)
			}
			if !a.StartsAt.Equal(mustTime(t, "2024-05-14T10:05:30Z")) {
				t.Errorf("got startsAt %v", a.StartsAt)
			}
			if tc.endsAt != "" && !a.EndsAt.Equal(mustTime(t, tc.endsAt)) {
				t.Errorf("got endsAt %v, want %s", a.EndsAt, tc.endsAt)
			}
			if a.Fingerprint != a.Labels.fingerprint() {
				t.Errorf("got fingerprint %q, want the labels' %q", a.Fingerprint, a.Labels.fingerprint())
			}
		})
	}
}

func TestDecodeGrafanaLegacyFixtures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file    string
		status  string
		title   string
		alerts  []KV // labels of each alert
		values  []string
		summary string
		desc    string
		image   bool
	}{
		{
			file: "grafana/legacy_alerting.json", status: StatusFiring, title: "[Alerting] Disk space low",
			alerts: []KV{
				{"alertname": "Disk space low", "instance": "db-1.prod.example.com:9100", "job": "node", "severity": "critical",
					"team": "dba", "device": "/dev/nvme1n1", "mountpoint": "/var/lib/postgresql", "metric": "/var/lib/postgresql"},
				{"alertname": "Disk space low", "instance": "db-1.prod.example.com:9100", "job": "node", "severity": "critical",
					"team": "dba", "device": "/dev/nvme0n1p1", "mountpoint": "/", "metric": "/"},
			},
			values:  []string{"/var/lib/postgresql=93.7", "/=91.2"},
			summary: "[Alerting] Disk space low", desc: "Less than 10% disk space left on db-1.prod.example.com. Check WAL archiving and old base backups.",
			image: true,
		},
		{
			file: "grafana/legacy_ok.json", status: StatusResolved, title: "[OK] Disk space low",
			alerts: []KV{{"alertname": "Disk space low", "instance": "db-1.prod.example.com:9100", "job": "node",
				"severity": "critical", "team": "dba"}},
			values:  []string{""},
			summary: "[OK] Disk space low",
		},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			t.Parallel()
			d, err := DecodeGrafana(fixture(t, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			if d.Source != SourceGrafana || d.Kind != KindGrafanaLegacy {
				t.Errorf("got source %q kind %q, want grafana grafana_legacy", d.Source, d.Kind)
			}
			if d.Status != tc.status || d.Title != tc.title || d.OrgID != 1 {
				t.Errorf("got status %q title %q orgId %d", d.Status, d.Title, d.OrgID)
			}
			if d.GroupLabels["alertname"] != "Disk space low" || d.CommonLabels["severity"] != "critical" {
				t.Errorf("got groupLabels %v commonLabels %v", d.GroupLabels, d.CommonLabels)
			}
			if len(d.Alerts) != len(tc.alerts) {
				t.Fatalf("got %d alerts, want %d", len(d.Alerts), len(tc.alerts))
			}
			for i, a := range d.Alerts {
				if len(a.Labels) != len(tc.alerts[i]) {
					t.Errorf("alert %d: got labels %v, want %v", i, a.Labels, tc.alerts[i])
				}
				for k, v := range tc.alerts[i] {
					if a.Labels[k] != v {
						t.Errorf("alert %d: got label %s=%q, want %q", i, k, a.Labels[k], v)
					}
				}
				if a.Status != tc.status || a.ValueString != tc.values[i] {
					t.Errorf("alert %d: got status %q valueString %q, want %q %q", i, a.Status, a.ValueString, tc.status, tc.values[i])
				}
				if a.Annotations["summary"] != tc.summary || a.Annotations["description"] != tc.desc {
					t.Errorf("alert %d: got annotations %v", i, a.Annotations)
				}
				if !strings.HasPrefix(a.GeneratorURL, "https://grafana.example.com/d/hZ7BuVbWz/") {
					t.Errorf("alert %d: got generatorURL %q, want the ruleUrl", i, a.GeneratorURL)
				}
				if got := a.ImageURL != ""; got != tc.image {
					t.Errorf("alert %d: got imageURL %q", i, a.ImageURL)
				}
				if a.Fingerprint != a.Labels.fingerprint() {
					t.Errorf("alert %d: got fingerprint %q, want computed %q", i, a.Fingerprint, a.Labels.fingerprint())
				}
			}
		})
	}
}

func TestDecodeGrafanaLegacyStates(t *testing.T) {
	t.Parallel()
	tests := []struct {
		state string
		want  string
	}{
		{"alerting", StatusFiring},
		{"no_data", StatusFiring},
		{"ok", StatusResolved},
		{"paused", StatusResolved},
		{"pending", StatusResolved},
	}
	for _, tc := range tests {
		t.Run(tc.state, func(t *testing.T) {
			t.Parallel()
			d, err := DecodeGrafana([]byte(`{"ruleName":"R","state":"` + tc.state + `","evalMatches":[{"value":null,"metric":"m","tags":null}]}`))
			if err != nil {
				t.Fatal(err)
			}
			if d.Status != tc.want || d.Alerts[0].Status != tc.want {
				t.Errorf("got status %q/%q, want %q", d.Status, d.Alerts[0].Status, tc.want)
			}
			if d.Alerts[0].Values != nil {
				t.Errorf("got values %v for a null value, want none", d.Alerts[0].Values)
			}
		})
	}
}

func TestDecodeGrafanaRejects(t *testing.T) {
	t.Parallel()
	const ok = `{"status":"firing","labels":{"alertname":"A"}}`
	checkRejects(t, DecodeGrafana, []badInput{
		{"empty body", "", "grafana payload: empty body"},
		{"syntax error with position", "{\n  \"version\": \"1\",\n  \"alerts\" ]\n}", "grafana payload: invalid JSON at line 3, column 12: invalid character ']' after object key"},
		{"array", `[]`, "grafana payload: want a JSON object, got an array"},
		{"neither shape", `{"title":"x"}`, "grafana payload: neither unified alerting"},
		{"unknown version", `{"version":"2","status":"firing","alerts":[` + ok + `]}`, `version: unsupported version "2"`},
		{"unified without alerts", `{"version":"1","status":"firing","alerts":[]}`, "grafana payload: alerts: no alerts"},
		{"unified bad status", `{"version":"1","status":"alerting","alerts":[` + ok + `]}`, `status: want "firing" or "resolved", got "alerting"`},
		{"unified alert bad status", `{"version":"1","status":"firing","alerts":[` + ok + `,{"status":"","labels":{"a":"b"}}]}`, `alerts[1].status: want "firing" or "resolved", got ""`},
		{"unified bad values", `{"version":"1","status":"firing","alerts":[{"status":"firing","labels":{"a":"b"},"values":{"A":"1"}}]}`, "alerts[0].values: want a number, got JSON string"},
		{"unified bad startsAt", `{"version":"1","status":"firing","alerts":[{"status":"firing","labels":{"a":"b"},"startsAt":"yesterday"}]}`, `alerts[0].startsAt: cannot parse "yesterday" as RFC 3339 time`},
		{"unified orgId a string", `{"version":"1","orgId":"1","status":"firing","alerts":[` + ok + `]}`, "orgId: want an integer, got JSON string"},
		{"legacy unknown state", `{"ruleName":"R","state":"firing"}`, `state: want one of alerting, ok, no_data, paused, pending; got "firing"`},
		{"legacy match not an object", `{"ruleName":"R","state":"alerting","evalMatches":[{"value":1},2]}`, "evalMatches[1]: want a JSON object, got a number"},
		{"legacy match value a string", `{"ruleName":"R","state":"alerting","evalMatches":[{"value":"1"}]}`, "evalMatches[0].value: want a number, got JSON string"},
		{"legacy tags an array", `{"ruleName":"R","state":"alerting","tags":["a"]}`, "tags: want an object, got JSON array"},
	})
}
