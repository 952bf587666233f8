package alert

import (
	"errors"
	"testing"
)

func TestDecodeContentTypes(t *testing.T) {
	t.Parallel()
	amBody := string(fixture(t, "alertmanager/firing.json"))
	tests := []struct {
		name        string
		source      string
		contentType string
		body        string
		wantKind    string // empty: want a *MediaTypeError
	}{
		{"alertmanager json", SourceAlertmanager, "application/json", amBody, KindAlertmanager},
		{"alertmanager json with charset", SourceAlertmanager, "application/json; charset=utf-8", amBody, KindAlertmanager},
		{"alertmanager no content type", SourceAlertmanager, "", amBody, KindAlertmanager},
		{"alertmanager +json", SourceAlertmanager, "application/vnd.alertmanager+json", amBody, KindAlertmanager},
		{"alertmanager upper case", SourceAlertmanager, "Application/JSON", amBody, KindAlertmanager},
		{"alertmanager text", SourceAlertmanager, "text/plain", amBody, ""},
		{"alertmanager form", SourceAlertmanager, "application/x-www-form-urlencoded", amBody, ""},
		{"alertmanager malformed", SourceAlertmanager, "application/json; =", amBody, ""},
		{"grafana json", SourceGrafana, "application/json", string(fixture(t, "grafana/unified_firing.json")), KindGrafanaUnified},
		{"grafana no content type", SourceGrafana, "", string(fixture(t, "grafana/legacy_ok.json")), KindGrafanaLegacy},
		{"grafana xml", SourceGrafana, "application/xml", `<x/>`, ""},
		{"generic json", SourceGeneric, "application/json", `{"title":"x"}`, KindJSON},
		{"generic text", SourceGeneric, "text/plain; charset=utf-8", `{"title":"x"}`, KindText},
		{"generic no content type, JSON", SourceGeneric, "", `{"title":"x"}`, KindJSON},
		{"generic no content type, text", SourceGeneric, "", `title: x`, KindText},
		{"generic html", SourceGeneric, "text/html", `<p>x</p>`, ""},
		{"generic form", SourceGeneric, "application/x-www-form-urlencoded", `{"title":"x"}`, ""},
		{"generic unknown charset", SourceGeneric, "text/plain; charset=x-klingon", `x`, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			d, err := Decode(tc.source, tc.contentType, nil, []byte(tc.body))
			if tc.wantKind == "" {
				var me *MediaTypeError
				if !errors.As(err, &me) {
					t.Fatalf("got %v, want a *MediaTypeError", err)
				}
				if me.Source != tc.source || me.ContentType != tc.contentType {
					t.Errorf("got %+v, want source %q content type %q", me, tc.source, tc.contentType)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d.Source != tc.source || d.Kind != tc.wantKind {
				t.Errorf("got source %q kind %q, want %q %q", d.Source, d.Kind, tc.source, tc.wantKind)
			}
		})
	}
}

func TestDecodeUnknownSource(t *testing.T) {
	t.Parallel()
	_, err := Decode("prometheus", "application/json", nil, []byte(`{}`))
	if !errors.Is(err, ErrUnknownSource) {
		t.Fatalf("got %v, want ErrUnknownSource", err)
	}
	if want := `unknown source "prometheus": want alertmanager, grafana or generic`; err.Error() != want {
		t.Errorf("got %q, want %q", err, want)
	}
}

func TestErrorMessages(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"decode error with path", &DecodeError{Source: "alertmanager", Path: "alerts[2].startsAt", Msg: `cannot parse "x" as RFC 3339 time`},
			`alertmanager payload: alerts[2].startsAt: cannot parse "x" as RFC 3339 time`},
		{"decode error without path", &DecodeError{Source: "grafana", Msg: "empty body"}, "grafana payload: empty body"},
		{"media type", &MediaTypeError{Source: "alertmanager", ContentType: "text/html"},
			`unsupported content type "text/html" for alertmanager payload; want application/json`},
		{"media type generic", &MediaTypeError{Source: "generic", ContentType: "image/png"},
			`unsupported content type "image/png" for generic payload; want application/json or text/plain`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := tc.err.Error(); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestSyntaxErrorOffset(t *testing.T) {
	t.Parallel()
	body := "{\n  \"receiver\": \"r\",\n  \"status\": firing\n}"
	_, err := DecodeAlertmanager([]byte(body))
	var de *DecodeError
	if !errors.As(err, &de) {
		t.Fatalf("got %v, want a *DecodeError", err)
	}
	if want := `alertmanager payload: invalid JSON at line 3, column 14: invalid character 'i' in literal false (expecting 'a')`; err.Error() != want {
		t.Errorf("got %q, want %q", err, want)
	}
	if got := body[de.Offset-1]; got != 'i' {
		t.Errorf("got offset %d pointing at %q, want it just past the bad 'i'", de.Offset, got)
	}
}
