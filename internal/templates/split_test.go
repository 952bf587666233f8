package templates_test

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/relayhq/relay/internal/alert"
	"github.com/relayhq/relay/internal/delivery"
	"github.com/relayhq/relay/internal/senders"
)

var partNumber = regexp.MustCompile(`^\((\d+)/(\d+)\) `)

// checkParts asserts the parts are numbered 1..n in order (or, alone,
// unnumbered), each within maxLen, and returns them without their numbers.
func checkParts(t *testing.T, parts []string, maxLen int) []string {
	t.Helper()
	if len(parts) == 0 {
		t.Fatal("no parts")
	}
	bodies := make([]string, len(parts))
	for i, p := range parts {
		if n := delivery.Len(p); n > maxLen {
			t.Errorf("part %d is %d long, over the limit of %d", i+1, n, maxLen)
		}
		m := partNumber.FindStringSubmatch(p)
		switch {
		case len(parts) == 1 && m != nil:
			t.Errorf("a single part is numbered: %.40q", p)
		case len(parts) > 1 && m == nil:
			t.Errorf("part %d is not numbered: %.40q", i+1, p)
		case len(parts) > 1 && (m[1] != fmt.Sprint(i+1) || m[2] != fmt.Sprint(len(parts))):
			t.Errorf("part %d is numbered (%s/%s), want (%d/%d)", i+1, m[1], m[2], i+1, len(parts))
		}
		bodies[i] = strings.TrimPrefix(p, partNumber.FindString(p))
	}
	return bodies
}

func storm(n int) *alert.Data {
	as := make(alert.Alerts, n)
	for i := range as {
		as[i] = alert.Alert{
			Status: alert.StatusFiring,
			Labels: alert.KV{"alertname": "HighLatency", "severity": "warning", "instance": fmt.Sprintf("host-%04d", i)},
			Annotations: alert.KV{
				"summary":     fmt.Sprintf("p99 latency on host-%04d above 2s", i),
				"description": strings.Repeat("The request latency stays high. ", 6),
			},
			GeneratorURL: fmt.Sprintf("http://prometheus.example.com/graph?host=%d", i),
		}
	}
	d := &alert.Data{Source: alert.SourceAlertmanager, Kind: alert.KindAlertmanager, Receiver: "ops"}
	return d.WithAlerts(as)
}

func TestRenderPartsStorm(t *testing.T) {
	t.Parallel()
	tm := mustNew(t, nil)
	d := storm(1000)
	for _, k := range []senders.Kind{chatworkKind, messengerKind} {
		t.Run(k.Name(), func(t *testing.T) {
			t.Parallel()
			const maxLen = 65535
			parts, err := tm.RenderParts(k.Notation(), "", d, maxLen)
			if err != nil {
				t.Fatalf("RenderParts: %v", err)
			}
			if len(parts) < 2 {
				t.Fatalf("got %d part, want the storm split", len(parts))
			}
			bodies := checkParts(t, parts, maxLen)
			all := strings.Join(bodies, "\n")
			for i := range 1000 {
				host := fmt.Sprintf("instance=host-%04d\n", i)
				if n := strings.Count(all, host); n != 1 {
					t.Fatalf("%s appears %d times across the parts, want once", host, n)
				}
			}
			for i, b := range bodies {
				if k == chatworkKind && (!strings.HasPrefix(b, "[info][title][FIRING:") || !strings.HasSuffix(b, "[/info]")) {
					t.Errorf("part %d is not a whole [info] block: %.60q ... %q", i+1, b, b[len(b)-10:])
				}
				if k != chatworkKind && !strings.HasPrefix(b, "[FIRING:") {
					t.Errorf("part %d does not start with its status: %.60q", i+1, b)
				}
			}
		})
	}
}

func TestRenderPartsSingleHugeAlert(t *testing.T) {
	t.Parallel()
	tm := mustNew(t, nil)
	var lines []string
	for i := range 300 {
		lines = append(lines, fmt.Sprintf("line %03d %s", i, strings.Repeat("x", 90)))
	}
	d := storm(1)
	d.Alerts[0].Annotations["description"] = strings.Join(lines, "\n")
	for _, k := range []senders.Kind{chatworkKind, messengerKind} {
		t.Run(k.Name(), func(t *testing.T) {
			t.Parallel()
			const maxLen = 10000
			parts, err := tm.RenderParts(k.Notation(), "", d, maxLen)
			if err != nil {
				t.Fatalf("RenderParts: %v", err)
			}
			if len(parts) < 3 {
				t.Fatalf("got %d parts, want a 30,000 character alert in at least 3", len(parts))
			}
			bodies := checkParts(t, parts, maxLen)
			all := strings.Join(bodies, "\n")
			last := -1
			for _, l := range lines {
				i := strings.Index(all, l)
				if i < 0 || i < last {
					t.Fatalf("line %.8q is missing, cut or out of order", l)
				}
				last = i
			}
			if k == chatworkKind {
				for i, b := range bodies {
					if !strings.HasPrefix(b, "[info]") || !strings.HasSuffix(b, "[/info]") {
						t.Errorf("part %d is not wrapped in [info]: %.40q", i+1, b)
					}
				}
			}
		})
	}
}

func TestRenderPartsHardSplit(t *testing.T) {
	t.Parallel()
	// One line, with characters that take two UTF-16 units, split at rune
	// boundaries with nothing lost.
	tm := mustNew(t, map[string]string{"line.tmpl": `{{ .Text }}`})
	text := strings.Repeat("ab😀", 700)
	d := &alert.Data{Source: alert.SourceGeneric, Kind: alert.KindText, Text: text}
	const maxLen = 101
	parts, err := tm.RenderParts(messengerKind.Notation(), "line", d, maxLen)
	if err != nil {
		t.Fatalf("RenderParts: %v", err)
	}
	bodies := checkParts(t, parts, maxLen)
	if got := strings.Join(bodies, ""); got != text {
		t.Errorf("joined parts differ from the text: %d bytes, want %d", len(got), len(text))
	}
}

func TestRenderPartsFits(t *testing.T) {
	t.Parallel()
	tm := mustNew(t, nil)
	d := sample(alert.KindAlertmanager)
	whole, err := tm.Render(chatworkKind.Notation(), "", d)
	if err != nil {
		t.Fatal(err)
	}
	for name, maxLen := range map[string]int{"exactly the limit": delivery.Len(whole), "no limit": 0} {
		parts, err := tm.RenderParts(chatworkKind.Notation(), "", d, maxLen)
		if err != nil {
			t.Fatalf("%s: RenderParts: %v", name, err)
		}
		if len(parts) != 1 || parts[0] != whole {
			t.Errorf("%s: RenderParts = %q, want the whole message unnumbered", name, parts)
		}
	}
}

func TestRenderPartsTemplateWithoutAlerts(t *testing.T) {
	t.Parallel()
	// A template that ignores .Alerts cannot shrink by splitting them; it
	// is split by lines once, not repeated per alert.
	tm := mustNew(t, map[string]string{"static.tmpl": `{{ range until 100 }}a fixed line of text {{ . }}
{{ end }}`})
	parts, err := tm.RenderParts(consoleKind.Notation(), "static", storm(50), 1000)
	if err != nil {
		t.Fatalf("RenderParts: %v", err)
	}
	bodies := checkParts(t, parts, 1000)
	if n := strings.Count(strings.Join(bodies, "\n"), "a fixed line of text 7\n"); n != 1 {
		t.Errorf("line 7 appears %d times, want once", n)
	}
}

func TestRenderPartsErrors(t *testing.T) {
	t.Parallel()
	tm := mustNew(t, map[string]string{"fails.tmpl": `{{ (index .Alerts 3).Labels }}`})
	tests := []struct {
		name, tmpl string
		maxLen     int
		want       string
	}{
		{"limit too small for a number", "", 7, "no room"},
		{"failing template", "fails", 1000, "index out of range"},
		{"unknown template", "nope", 1000, "no such template"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			parts, err := tm.RenderParts(chatworkKind.Notation(), tt.tmpl, storm(2), tt.maxLen)
			if err == nil {
				t.Fatalf("RenderParts = %q, want an error", parts)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not mention %q", err, tt.want)
			}
		})
	}
}
