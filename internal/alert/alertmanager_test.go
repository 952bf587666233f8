package alert

import (
	"testing"
	"time"
)

func TestDecodeAlertmanagerFixtures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file          string
		status        string
		receiver      string
		groupKey      string
		firing        int
		resolved      int
		first         KV // a subset of the first alert's labels
		summary       string
		startsAt      string
		endsAt        string
		fingerprint   string
		commonLabels  int
		groupLabelsAN string
	}{
		{
			file: "alertmanager/firing.json", status: StatusFiring, receiver: "relay-oncall",
			groupKey: `{}/{severity="critical"}:{alertname="HighErrorRate", service="checkout"}`,
			firing:   1, first: KV{"alertname": "HighErrorRate", "severity": "critical", "instance": "api-1.prod.example.com:8080", "job": "checkout-api"},
			summary:  "High 5xx error rate on checkout-api",
			startsAt: "2024-05-14T09:12:37.482Z", fingerprint: "fedbb67aa2d625f4", commonLabels: 6, groupLabelsAN: "HighErrorRate",
		},
		{
			file: "alertmanager/resolved.json", status: StatusResolved, receiver: "relay-oncall",
			groupKey: `{}/{severity="critical"}:{alertname="HighErrorRate", service="checkout"}`,
			resolved: 1, first: KV{"alertname": "HighErrorRate"},
			summary:  "High 5xx error rate on checkout-api",
			startsAt: "2024-05-14T09:12:37.482Z", endsAt: "2024-05-14T09:41:52.482Z", fingerprint: "fedbb67aa2d625f4",
			commonLabels: 6, groupLabelsAN: "HighErrorRate",
		},
		{
			file: "alertmanager/multi_firing.json", status: StatusFiring, receiver: "relay-infra",
			groupKey: `{}/{severity=~"warning|critical"}:{alertname="InstanceDown", job="node"}`,
			firing:   2, resolved: 1, first: KV{"alertname": "InstanceDown", "instance": "node-1.prod.example.com:9100", "severity": "warning"},
			summary:  "Instance node-1.prod.example.com:9100 down",
			startsAt: "2024-05-14T08:55:02.113Z", commonLabels: 4, groupLabelsAN: "InstanceDown",
		},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			t.Parallel()
			d, err := DecodeAlertmanager(fixture(t, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			if d.Source != SourceAlertmanager || d.Kind != KindAlertmanager {
				t.Errorf("got source %q kind %q, want alertmanager", d.Source, d.Kind)
			}
			if d.Status != tc.status || d.Receiver != tc.receiver || d.GroupKey != tc.groupKey {
				t.Errorf("got status %q receiver %q groupKey %q, want %q %q %q", d.Status, d.Receiver, d.GroupKey, tc.status, tc.receiver, tc.groupKey)
			}
			if d.ExternalURL != "http://alertmanager-0.monitoring.svc:9093" {
				t.Errorf("got externalURL %q", d.ExternalURL)
			}
			if got := len(d.Alerts.Firing()); got != tc.firing {
				t.Errorf("got %d firing alerts, want %d", got, tc.firing)
			}
			if got := len(d.Alerts.Resolved()); got != tc.resolved {
				t.Errorf("got %d resolved alerts, want %d", got, tc.resolved)
			}
			if got := len(d.CommonLabels); got != tc.commonLabels {
				t.Errorf("got %d common labels, want %d", got, tc.commonLabels)
			}
			if got := d.GroupLabels["alertname"]; got != tc.groupLabelsAN {
				t.Errorf("got groupLabels.alertname %q, want %q", got, tc.groupLabelsAN)
			}
			a := d.Alerts[0]
			for k, v := range tc.first {
				if a.Labels[k] != v {
					t.Errorf("got label %s=%q, want %q", k, a.Labels[k], v)
				}
			}
			if a.Annotations["summary"] != tc.summary {
				t.Errorf("got summary %q, want %q", a.Annotations["summary"], tc.summary)
			}
			if !a.StartsAt.Equal(mustTime(t, tc.startsAt)) {
				t.Errorf("got startsAt %v, want %s", a.StartsAt, tc.startsAt)
			}
			wantEnds := time.Time{}
			if tc.endsAt != "" {
				wantEnds = mustTime(t, tc.endsAt)
			}
			if !a.EndsAt.Equal(wantEnds) {
				t.Errorf("got endsAt %v, want %v", a.EndsAt, wantEnds)
			}
			if tc.fingerprint != "" && a.Fingerprint != tc.fingerprint {
				t.Errorf("got fingerprint %q, want %q", a.Fingerprint, tc.fingerprint)
			}
			if a.GeneratorURL == "" {
				t.Error("got no generatorURL")
			}
		})
	}
}

func TestDecodeAlertmanagerLeniency(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		body  string
		check func(t *testing.T, d *Data)
	}{
		{
			name: "unknown fields are ignored",
			body: `{"version":"4","status":"firing","notification_reason":"new_alert","routeLabels":{"team":"a"},
				"alerts":[{"status":"firing","labels":{"alertname":"A"},"silencedBy":[],"fingerprint":"abc"}]}`,
			check: func(t *testing.T, d *Data) {
				if d.Alerts[0].Fingerprint != "abc" {
					t.Errorf("got fingerprint %q, want the one sent", d.Alerts[0].Fingerprint)
				}
			},
		},
		{
			name: "missing version, maps and fingerprint",
			body: `{"status":"resolved","alerts":[{"status":"resolved","labels":{"alertname":"A","job":"x"}}]}`,
			check: func(t *testing.T, d *Data) {
				if d.GroupLabels == nil || d.CommonLabels == nil || d.CommonAnnotations == nil || d.Alerts[0].Annotations == nil {
					t.Errorf("got nil maps in %+v", d)
				}
				if want := (KV{"alertname": "A", "job": "x"}).fingerprint(); d.Alerts[0].Fingerprint != want {
					t.Errorf("got fingerprint %q, want computed %q", d.Alerts[0].Fingerprint, want)
				}
			},
		},
		{
			name: "times with offsets and no fraction",
			body: `{"status":"firing","alerts":[{"status":"firing","labels":{"a":"b"},"startsAt":"2024-05-14T18:12:37+09:00"}]}`,
			check: func(t *testing.T, d *Data) {
				if want := mustTime(t, "2024-05-14T09:12:37Z"); !d.Alerts[0].StartsAt.Equal(want) {
					t.Errorf("got startsAt %v, want %v", d.Alerts[0].StartsAt, want)
				}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			d, err := DecodeAlertmanager([]byte(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, d)
		})
	}
}

func TestDecodeAlertmanagerRejects(t *testing.T) {
	t.Parallel()
	const ok = `{"status":"firing","labels":{"alertname":"A"}}`
	checkRejects(t, DecodeAlertmanager, []badInput{
		{"empty body", "", "alertmanager payload: empty body"},
		{"whitespace body", " \n\t", "alertmanager payload: empty body"},
		{"array", `[{"status":"firing"}]`, "alertmanager payload: want a JSON object, got an array"},
		{"null", `null`, "want a JSON object, got null"},
		{"string", `"firing"`, "want a JSON object, got a string"},
		{"syntax error with position", "{\n  \"status\": \"firing\",\n  \"alerts\": [}\n}", "invalid JSON at line 3, column 14: invalid character '}'"},
		{"truncated", `{"status":"firing","alerts":[`, "invalid JSON at line 1, column 29: unexpected end of JSON input"},
		{"trailing data", `{"status":"firing","alerts":[` + ok + `]} {}`, "invalid JSON at line 1, column 79: invalid character '{' after top-level value"},
		{"version 3", `{"version":"3","status":"firing","alerts":[` + ok + `]}`, `version: unsupported version "3"; want "4"`},
		{"version as number", `{"version":4,"status":"firing","alerts":[` + ok + `]}`, "version: want a string, got JSON number"},
		{"no alerts", `{"status":"firing","alerts":[]}`, "alerts: no alerts"},
		{"alerts missing", `{"status":"firing"}`, "alerts: no alerts"},
		{"alerts an object", `{"status":"firing","alerts":{}}`, "alerts: want an array, got JSON object"},
		{"top status missing", `{"alerts":[` + ok + `]}`, `status: want "firing" or "resolved", got ""`},
		{"top status unknown", `{"status":"pending","alerts":[` + ok + `]}`, `status: want "firing" or "resolved", got "pending"`},
		{"alert status unknown", `{"status":"firing","alerts":[` + ok + `,{"status":"FIRING","labels":{"a":"b"}}]}`, `alerts[1].status: want "firing" or "resolved", got "FIRING"`},
		{"alert not an object", `{"status":"firing","alerts":[` + ok + `,"x"]}`, "alerts[1]: want a JSON object, got a string"},
		{"alert null", `{"status":"firing","alerts":[null]}`, "alerts[0]: want a JSON object, got null"},
		{"alert without labels", `{"status":"firing","alerts":[{"status":"firing"}]}`, "alerts[0].labels: alert has no labels"},
		{"alert with empty labels", `{"status":"firing","alerts":[{"status":"firing","labels":{}}]}`, "alerts[0].labels: alert has no labels"},
		{"label not a string", `{"status":"firing","alerts":[{"status":"firing","labels":{"n":1}}]}`, "alerts[0].labels: want a string, got JSON number"},
		{"bad startsAt", `{"status":"firing","alerts":[` + ok + `,` + ok + `,{"status":"firing","labels":{"a":"b"},"startsAt":"x"}]}`, `alerts[2].startsAt: cannot parse "x" as RFC 3339 time`},
		{"bad endsAt", `{"status":"firing","alerts":[{"status":"firing","labels":{"a":"b"},"endsAt":"2024-05-14 09:00:00"}]}`, `alerts[0].endsAt: cannot parse "2024-05-14 09:00:00" as RFC 3339 time`},
		{"truncatedAlerts not a number", `{"status":"firing","truncatedAlerts":"2","alerts":[` + ok + `]}`, "truncatedAlerts: want an integer, got JSON string"},
		{"groupLabels an array", `{"status":"firing","groupLabels":[],"alerts":[` + ok + `]}`, "groupLabels: want an object, got JSON array"},
	})
}

func TestDecodeErrorQuotesLongValuesShort(t *testing.T) {
	t.Parallel()
	long := make([]byte, 10000)
	for i := range long {
		long[i] = 'x'
	}
	_, err := DecodeAlertmanager([]byte(`{"status":"` + string(long) + `","alerts":[]}`))
	if err == nil {
		t.Fatal("got no error for a bad status")
	}
	if n := len(err.Error()); n > 200 {
		t.Errorf("got an error of %d bytes, want the value cut short", n)
	}
}
