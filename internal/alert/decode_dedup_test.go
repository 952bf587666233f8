package alert

import (
	"testing"
	"time"
)

func TestFingerprintMatchesPrometheus(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		labels KV
		want   string
	}{
		// Values from prometheus/common model's signature tests, in hex.
		{"empty", KV{}, "cbf29ce484222325"},
		{"two labels", KV{"name": "garland, briggs", "fear": "love is not enough"}, "507a62d79ee76c9a"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := tc.labels.fingerprint(); got != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
}

func TestDedupKey(t *testing.T) {
	t.Parallel()
	firing := func(tb testing.TB) *Data {
		d, err := DecodeAlertmanager(fixture(tb, "alertmanager/multi_firing.json"))
		if err != nil {
			tb.Fatal(err)
		}
		return d
	}
	base := firing(t).DedupKey("infra")
	if len(base) != 64 {
		t.Fatalf("got key %q, want 64 hex digits", base)
	}
	tests := []struct {
		name   string
		route  string
		change func(d *Data)
		same   bool
	}{
		{"identical payload from an HA peer", "infra", func(*Data) {}, true},
		{"alerts in another order", "infra", func(d *Data) {
			d.Alerts[0], d.Alerts[2] = d.Alerts[2], d.Alerts[0]
		}, true},
		{"different template-only fields", "infra", func(d *Data) {
			d.Alerts[0].Annotations = KV{"summary": "other"}
			d.ExternalURL = "http://alertmanager-1:9093"
		}, true},
		{"another route", "oncall", func(*Data) {}, false},
		{"another receiver", "infra", func(d *Data) { d.Receiver = "other" }, false},
		{"another group", "infra", func(d *Data) { d.GroupKey += "x" }, false},
		{"group resolved", "infra", func(d *Data) { d.Status = StatusResolved }, false},
		{"one alert resolved", "infra", func(d *Data) {
			d.Alerts[0].Status = StatusResolved
			d.Alerts[0].EndsAt = d.Alerts[0].StartsAt.Add(time.Hour)
		}, false},
		{"alert fired again later", "infra", func(d *Data) { d.Alerts[1].StartsAt = d.Alerts[1].StartsAt.Add(time.Hour) }, false},
		{"one alert fewer", "infra", func(d *Data) { d.Alerts = d.Alerts[:2] }, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			d := firing(t)
			tc.change(d)
			if got := d.DedupKey(tc.route) == base; got != tc.same {
				t.Errorf("got same key %v, want %v", got, tc.same)
			}
		})
	}
}

func TestDedupKeyBySource(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file  string
		keyed bool
	}{
		{"alertmanager/firing.json", true},
		{"grafana/unified_firing.json", true},
		{"grafana/legacy_alerting.json", false},
		{"generic/plain.json", false},
		{"generic/gitlab_pipeline_failed.json", false},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			t.Parallel()
			src := SourceGeneric
			switch tc.file[:4] {
			case "aler":
				src = SourceAlertmanager
			case "graf":
				src = SourceGrafana
			}
			d, err := Decode(src, "application/json", nil, fixture(t, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			if got := d.DedupKey("r") != ""; got != tc.keyed {
				t.Errorf("got key %q, want one: %v", d.DedupKey("r"), tc.keyed)
			}
		})
	}
}
