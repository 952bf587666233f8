package alert

import (
	"fmt"
	"reflect"
	"testing"
)

// sameAsByParts fails t unless DecodeAlertmanager gives what decoding by
// parts gives: the same Data, or an error with the same text.
func sameAsByParts(t *testing.T, body []byte) {
	t.Helper()
	got, gotErr := DecodeAlertmanager(body)
	want, wantErr := decodeAlertmanagerByParts(body)
	if fmt.Sprint(gotErr) != fmt.Sprint(wantErr) {
		t.Fatalf("error %v, by parts %v", gotErr, wantErr)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("decoded\n%+v\nby parts\n%+v", got, want)
	}
}

// TestDecodeAlertmanagerOnceIsDecodingByParts: decoding in one pass gives
// what decoding by parts does, for valid payloads and the ones it must
// leave to decoding by parts.
func TestDecodeAlertmanagerOnceIsDecodingByParts(t *testing.T) {
	t.Parallel()
	const one = `{"status":"firing","labels":{"alertname":"A"},"startsAt":"2024-01-01T00:00:00Z"}`
	const other = `{"status":"resolved","labels":{"severity":"page"},"fingerprint":"f2"}`
	for _, c := range []struct {
		name    string
		body    string
		oneSide bool // decoded in one pass
	}{
		{"one alert", `{"status":"firing","alerts":[` + one + `]}`, true},
		{"two alerts, HTML escapes", `{"version":"4","status":"firing","externalURL":"http://a/?x=1\u0026y=\u003c","alerts":[` + one + `,` + other + `]}`, true},
		{"alerts twice", `{"status":"firing","alerts":[` + one + `],"alerts":[` + other + `]}`, false},
		{"alerts in another case", `{"status":"firing","alerts":[` + one + `],"ALERTS":[` + other + `]}`, false},
		{"alerts with a long s", `{"status":"firing","alerts":[` + one + `],"alertſ":[` + other + `]}`, false},
		{"alerts with an escaped letter", `{"status":"firing","alerts":[` + one + `],"al\u0065rts":[` + other + `]}`, false},
		{"null alert", `{"status":"firing","alerts":[` + one + `,null]}`, false},
		{"empty alert", `{"status":"firing","alerts":[{}]}`, false},
		{"alert not an object", `{"status":"firing","alerts":[` + one + `,"x"]}`, false},
		{"bad label type in the second alert", `{"status":"firing","alerts":[` + one + `,{"status":"firing","labels":{"a":1}}]}`, false},
		{"bad time", `{"status":"firing","alerts":[{"status":"firing","labels":{"a":"b"},"endsAt":"soon"}]}`, false},
		{"no alerts", `{"status":"firing","alerts":[]}`, false},
		{"version 3", `{"version":"3","status":"firing","alerts":[` + one + `]}`, false},
		{"null body", `null`, false},
		{"syntax error", `{"status":"firing","alerts":[` + one, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			if _, ok := decodeAlertmanagerOnce([]byte(c.body)); ok != c.oneSide {
				t.Errorf("decoded in one pass: %v, want %v", ok, c.oneSide)
			}
			sameAsByParts(t, []byte(c.body))
		})
	}
	for _, name := range []string{"alertmanager/firing.json", "alertmanager/resolved.json", "alertmanager/multi_firing.json"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			body := fixture(t, name)
			if _, ok := decodeAlertmanagerOnce(body); !ok {
				t.Error("a valid fixture was not decoded in one pass")
			}
			sameAsByParts(t, body)
		})
	}
}

func TestAlertsKeyAtMostOnce(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name, body string
		want       bool
	}{
		{"none", `{"status":"firing"}`, true},
		{"once", `{"alerts":[]}`, true},
		{"alertname is not alerts", `{"alerts":[{"labels":{"alertname":"alerts!"}}]}`, true},
		{"twice", `{"alerts":[],"alerts":[]}`, false},
		{"as a value too", `{"alerts":[{"labels":{"kind":"alerts"}}]}`, false},
		{"title case", `{"alerts":[],"Alerts":[]}`, false},
		{"long s", `{"alerts":[],"ALERTſ":[]}`, false},
		{"escaped letter", `{"\u0061lerts":[]}`, false},
		{"escaped upper-case letter", `{"\u0041lerts":[]}`, false},
		{"escaped long s", `{"alert\u017F":[]}`, false},
		{"escaped ampersand", `{"alerts":[],"u":"a\u0026b"}`, true},
		{"bad escape", `{"alerts":[],"u":"\uzzzz"}`, false},
		{"escape at the end", `{"alerts":[],"u":"\u00`, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			if got := alertsKeyAtMostOnce([]byte(c.body)); got != c.want {
				t.Errorf("alertsKeyAtMostOnce(%s) = %v, want %v", c.body, got, c.want)
			}
		})
	}
}

// FuzzDecodeAlertmanagerOnce: whatever the payload, decoding in one pass
// gives what decoding by parts gives.
func FuzzDecodeAlertmanagerOnce(f *testing.F) {
	for _, name := range []string{"alertmanager/firing.json", "alertmanager/resolved.json", "alertmanager/multi_firing.json"} {
		f.Add(fixture(f, name))
	}
	f.Add([]byte(`{"status":"firing","alerts":[{"status":"firing","labels":{"a":"b"}}],"Alerts":[{"status":"resolved","labels":{"c":"d"}}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		sameAsByParts(t, body)
	})
}
