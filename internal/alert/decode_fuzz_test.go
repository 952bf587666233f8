package alert

import (
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"testing"
)

// checkDecoded asserts what every successful decode promises, and that
// every failure is a *DecodeError or a *MediaTypeError.
func checkDecoded(t *testing.T, source string, d *Data, err error) {
	t.Helper()
	if err != nil {
		var de *DecodeError
		var me *MediaTypeError
		if !errors.As(err, &de) && !errors.As(err, &me) {
			t.Fatalf("got %T %v, want a *DecodeError or *MediaTypeError", err, err)
		}
		return
	}
	if d.Source != source {
		t.Errorf("got source %q, want %q", d.Source, source)
	}
	if d.Kind == "" {
		t.Error("got no kind")
	}
	if len(d.Alerts) == 0 {
		t.Fatal("got no alerts")
	}
	if d.Status != StatusFiring && d.Status != StatusResolved {
		t.Errorf("got status %q", d.Status)
	}
	if d.GroupLabels == nil || d.CommonLabels == nil || d.CommonAnnotations == nil {
		t.Errorf("got nil group or common maps: %+v", d)
	}
	for i, a := range d.Alerts {
		if a.Status != StatusFiring && a.Status != StatusResolved {
			t.Errorf("alert %d: got status %q", i, a.Status)
		}
		if a.Labels == nil || a.Annotations == nil {
			t.Errorf("alert %d: got nil labels or annotations", i)
		}
		if a.Fingerprint == "" {
			t.Errorf("alert %d: got no fingerprint", i)
		}
	}
	_ = d.DedupKey("route")
}

func FuzzDecodeAlertmanager(f *testing.F) {
	for _, name := range []string{"alertmanager/firing.json", "alertmanager/resolved.json", "alertmanager/multi_firing.json"} {
		f.Add(fixture(f, name))
	}
	f.Add([]byte(`{"status":"firing","alerts":[{"status":"firing","labels":{"a":"b"},"startsAt":"2024-01-01T00:00:00Z"}]}`))
	f.Add([]byte(`{"status":"firing","alerts":[null]}`))
	f.Add([]byte(`{"status":"firing","alerts":[{"status":"firing","labels":{"a":1}}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		d, err := DecodeAlertmanager(body)
		checkDecoded(t, SourceAlertmanager, d, err)
		want, wantErr := decodeAlertmanagerByAlert(body)
		if (err == nil) != (wantErr == nil) {
			t.Fatalf("one pass: %v; alert by alert: %v", err, wantErr)
		}
		if err == nil && !reflect.DeepEqual(d, want) {
			t.Fatalf("one pass decoded\n%+v\nalert by alert\n%+v", d, want)
		}
	})
}

// decodeAlertmanagerByAlert is DecodeAlertmanager done the slow way, the
// payload with its alerts kept raw and then each alert on its own: what
// the one-pass decode must agree with.
func decodeAlertmanagerByAlert(body []byte) (*Data, error) {
	const src = SourceAlertmanager
	var m struct {
		amMessage
		Alerts []json.RawMessage `json:"alerts"`
	}
	if err := decodeObject(src, "", body, &m); err != nil {
		return nil, err
	}
	if m.Version != "" && m.Version != "4" {
		return nil, &DecodeError{Source: src, Path: "version", Msg: "unsupported version"}
	}
	if err := checkStatus(src, "status", m.Status); err != nil {
		return nil, err
	}
	as, err := decodeAlerts(src, m.Alerts, func(path string, raw json.RawMessage) (Alert, error) {
		var w amAlert
		if err := decodeObject(src, path, raw, &w); err != nil {
			return Alert{}, err
		}
		return w.alert(src, path)
	})
	if err != nil {
		return nil, err
	}
	return m.data(as), nil
}

func FuzzDecodeGrafana(f *testing.F) {
	for _, name := range []string{"grafana/unified_firing.json", "grafana/unified_resolved.json",
		"grafana/legacy_alerting.json", "grafana/legacy_ok.json"} {
		f.Add(fixture(f, name))
	}
	f.Add([]byte(`{"ruleName":"r","state":"alerting","evalMatches":[{"value":1,"metric":"m","tags":{"a":"b"}}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		d, err := DecodeGrafana(body)
		checkDecoded(t, SourceGrafana, d, err)
	})
}

func FuzzDecodeGeneric(f *testing.F) {
	for _, name := range []string{"generic/plain.json", "generic/gitlab_pipeline_failed.json", "generic/gitlab_pipeline_success.json",
		"generic/github_workflow_run_failure.json", "generic/github_workflow_run_success.json"} {
		f.Add("application/json", "", fixture(f, name))
	}
	f.Add("text/plain; charset=utf-8", "", fixture(f, "generic/message.txt"))
	f.Add("text/plain; charset=shift_jis", "", []byte("\x83\x65\x83\x58\x83\x67"))
	f.Add("", "Pipeline Hook", []byte(`{"object_attributes":{"id":1,"status":"failed"}}`))
	f.Fuzz(func(t *testing.T, contentType, gitlabEvent string, body []byte) {
		h := http.Header{}
		if gitlabEvent != "" {
			h.Set("X-Gitlab-Event", gitlabEvent)
		}
		d, err := DecodeGeneric(contentType, h, body)
		checkDecoded(t, SourceGeneric, d, err)
	})
}

func BenchmarkDecodeAlertmanager(b *testing.B) {
	body := fixture(b, "alertmanager/multi_firing.json")
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeAlertmanager(body); err != nil {
			b.Fatal(err)
		}
	}
}
