package templates

import (
	"encoding/json"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/relayhq/relay/internal/alert"
)

func TestSilenceURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, ext string
		labels    alert.KV
		want      string
	}{
		{"one label", "http://am:9093", alert.KV{"alertname": "Down"},
			"http://am:9093/#/silences/new?filter=%7Balertname%3D%22Down%22%7D"},
		{"sorted, joined as the UI joins them", "https://am.example.com/", alert.KV{"job": "node", "alertname": "Down"},
			"https://am.example.com/#/silences/new?filter=%7Balertname%3D%22Down%22%2C%20job%3D%22node%22%7D"},
		{"a path prefix", "https://example.com/alertmanager", alert.KV{"a": "1"},
			"https://example.com/alertmanager/#/silences/new?filter=%7Ba%3D%221%22%7D"},
		{"no external URL", "", alert.KV{"a": "1"}, ""},
		{"no labels", "http://am:9093", alert.KV{}, ""},
	}
	for _, tt := range tests {
		if got := silenceURL(tt.ext, tt.labels); got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.name, got, tt.want)
		}
	}
}

// matcher is one name="value" of the UI's filter, the value JSON-quoted.
var matcher = regexp.MustCompile(`^([a-zA-Z_][a-zA-Z0-9_]*)=("(?:[^"\\]|\\.)*")$`)

// TestSilenceURLRoundTrips: whatever the values hold, the filter decodes
// (percent-decoding as the UI does, then its matcher syntax with JSON
// strings) to the labels, and the link holds nothing Chatwork or a query
// string would read: no bracket, space, plus, ampersand or quote.
func TestSilenceURLRoundTrips(t *testing.T) {
	t.Parallel()
	labels := alert.KV{
		"alertname": "Disk full", "quote": `say "hi"`, "backslash": `C:\temp`, "plus": "a+b",
		"amp": "a&b=c#d?e", "html": "<b>&</b>", "unicode": "東京 ☃", "tag": "[toall]", "newline": "a\nb",
		"comma": "x, y}", "empty": "",
	}
	got := silenceURL("http://am", labels)
	enc, ok := strings.CutPrefix(got, "http://am/#/silences/new?filter=")
	if !ok {
		t.Fatalf("got %q, want the new-silence form", got)
	}
	if strings.ContainsAny(enc, "[] +&\"'<>\n") {
		t.Errorf("encoded filter %q holds a character it should have escaped", enc)
	}
	filter, err := url.PathUnescape(enc) // decodeURIComponent: %20 is a space, + stays
	if err != nil {
		t.Fatal(err)
	}
	inner, ok := strings.CutPrefix(filter, "{")
	inner, ok2 := strings.CutSuffix(inner, "}")
	if !ok || !ok2 {
		t.Fatalf("filter %q is not braced", filter)
	}
	decoded := alert.KV{}
	for _, m := range splitMatchers(inner) {
		sm := matcher.FindStringSubmatch(m)
		if sm == nil {
			t.Fatalf("matcher %q is not name=\"value\"", m)
		}
		var v string
		if err := json.Unmarshal([]byte(sm[2]), &v); err != nil {
			t.Fatalf("value %s: %v", sm[2], err)
		}
		decoded[sm[1]] = v
	}
	if len(decoded) != len(labels) {
		t.Fatalf("decoded %d labels %v, want %d", len(decoded), decoded, len(labels))
	}
	for k, v := range labels {
		if decoded[k] != v {
			t.Errorf("label %s: decoded %q, want %q", k, decoded[k], v)
		}
	}
}

// splitMatchers splits a filter's inside at the ", " between matchers,
// outside quoted values.
func splitMatchers(s string) []string {
	var out []string
	start, quoted := 0, false
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '\\' && quoted:
			i++
		case s[i] == '"':
			quoted = !quoted
		case !quoted && strings.HasPrefix(s[i:], ", "):
			out = append(out, s[start:i])
			start = i + 2
			i++
		}
	}
	return append(out, s[start:])
}
