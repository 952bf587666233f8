package templates

import (
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/relayhq/relay/internal/alert"
	"github.com/relayhq/relay/internal/delivery"
)

// TestCompiledNamesAreBuiltins checks that every Go form replaces a
// built-in template that exists, and that the default of each kind it
// stands for resolves to it.
func TestCompiledNamesAreBuiltins(t *testing.T) {
	t.Parallel()
	tm := mustNew(t, nil)
	for name := range compiled {
		if tm.builtin.Lookup(name) == nil {
			t.Errorf("compiled[%q] has no built-in template", name)
		}
	}
	for _, kind := range []string{alert.KindAlertmanager, alert.KindGrafanaUnified, alert.KindGrafanaLegacy} {
		for _, sender := range allKinds {
			r, err := tm.lookup(sender, "", &alert.Data{Kind: kind})
			if err != nil {
				t.Fatal(err)
			}
			if r.fast == nil {
				t.Errorf("the default for %s to %s runs through text/template", kind, sender)
			}
		}
	}
}

// TestCustomTemplatesNeverUseCompiled checks that a named template, which a
// custom file may redefine in part, always runs through text/template.
func TestCustomTemplatesNeverUseCompiled(t *testing.T) {
	t.Parallel()
	tm := mustNew(t, map[string]string{
		"mine.tmpl": `{{ define "relay.alert" }}MINE{{ end }}`,
	})
	d := sample(alert.KindAlertmanager)
	got, err := tm.Render(delivery.KindChatwork, "chatwork.alertmanager", d)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(got, "MINE") {
		t.Errorf("custom relay.alert not used:\n%s", got)
	}
	def, err := tm.Render(delivery.KindChatwork, "", d)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(def, "MINE") {
		t.Errorf("the default picked up a custom relay.alert:\n%s", def)
	}
}

// TestCompiledMatchesTemplates renders thousands of generated notifications
// both ways and requires byte-identical messages.
func TestCompiledMatchesTemplates(t *testing.T) {
	t.Parallel()
	tm := mustNew(t, nil)
	for _, d := range Samples() {
		assertCompiledMatches(t, tm, d)
	}
	n := 3000
	if testing.Short() {
		n = 300
	}
	for seed := range n {
		g := gen{r: rand.New(rand.NewPCG(uint64(seed), 7))}
		assertCompiledMatches(t, tm, g.data())
		if t.Failed() {
			t.Fatalf("seed %d", seed)
		}
	}
}

// FuzzCompiledMatchesTemplates is TestCompiledMatchesTemplates with the
// fuzzer choosing the shape and two of the strings.
func FuzzCompiledMatchesTemplates(f *testing.F) {
	f.Add(uint64(1), "[toall]", "a\nb")
	f.Add(uint64(2), "", "resolved")
	f.Add(uint64(3), "firing", "[info][title]x")
	tm, err := New("")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, seed uint64, s1, s2 string) {
		g := gen{r: rand.New(rand.NewPCG(seed, 11)), extra: []string{s1, s2}}
		assertCompiledMatches(t, tm, g.data())
	})
}

// assertCompiledMatches renders d with every sender kind through the Go
// form and through text/template, whole and split.
func assertCompiledMatches(t *testing.T, tm *Templates, d *alert.Data) {
	t.Helper()
	for _, kind := range allKinds {
		r, err := tm.lookup(kind, "", d)
		if err != nil {
			t.Fatal(err)
		}
		if r.fast == nil {
			continue
		}
		p := prepare(kind, d)
		want, werr := renderer{tmpl: r.tmpl}.execute(p)
		got, gerr := r.execute(p)
		if (werr != nil) != (gerr != nil) || got != want {
			t.Errorf("%s %s: Go form differs from the template\n--- Go (err %v)\n%s\n--- template (err %v)\n%s",
				kind, d.Kind, gerr, got, werr, want)
		}
	}
}

// gen generates notifications that reach every branch of the built-in
// alert templates: statuses known and not, labels that are and are not
// common, annotations with and without lines, zero and set times, text that
// Chatwork neutralisation changes.
type gen struct {
	r     *rand.Rand
	extra []string
}

func (g gen) pick(xs ...string) string {
	xs = append(xs, g.extra...)
	return xs[g.r.IntN(len(xs))]
}

func (g gen) maybe(xs ...string) string {
	if g.r.IntN(3) == 0 {
		return ""
	}
	return g.pick(xs...)
}

func (g gen) kv(keys ...string) alert.KV {
	if g.r.IntN(8) == 0 {
		return nil
	}
	kv := alert.KV{}
	for range g.r.IntN(len(keys) + 1) {
		kv[g.pick(keys...)] = g.pick("", "x", "HighLatency", "DiskFull", "[toall]", "a=b c", "日本語", "critical", "[info]x[/info]", "two\nlines")
	}
	return kv
}

func (g gen) time() time.Time {
	switch g.r.IntN(3) {
	case 0:
		return time.Time{}
	case 1:
		return time.Date(2024, 5, 1, 10, g.r.IntN(60), 0, 0, time.UTC)
	}
	return time.Date(2024, 12, 31, 23, 59, 59, 0, time.FixedZone("JST", 9*3600))
}

func (g gen) data() *alert.Data {
	labelKeys := []string{"alertname", "severity", "instance", "job", "[to:1]", "a b", "zone"}
	noteKeys := []string{"summary", "description", "message", "runbook_url", "other"}
	as := make(alert.Alerts, g.r.IntN(6))
	for i := range as {
		as[i] = alert.Alert{
			Status:       g.pick(alert.StatusFiring, alert.StatusResolved, alert.StatusFiring, "pending", ""),
			Labels:       g.kv(labelKeys...),
			Annotations:  g.kv(noteKeys...),
			StartsAt:     g.time(),
			EndsAt:       g.time(),
			GeneratorURL: g.maybe("http://prometheus/graph?g0.expr=up", "[code]x"),
			Fingerprint:  g.maybe("abc123"),
			ValueString:  g.maybe("[ var='A' value=1 ]", "B=2"),
			DashboardURL: g.maybe("http://grafana/d/1"),
			PanelURL:     g.maybe("http://grafana/d/1?viewPanel=2"),
			SilenceURL:   g.maybe("http://grafana/silence"),
			ImageURL:     g.maybe("http://img/1.png"),
		}
	}
	kind := g.pick(alert.KindAlertmanager, alert.KindGrafanaUnified, alert.KindGrafanaLegacy)
	source := alert.SourceAlertmanager
	if kind != alert.KindAlertmanager {
		source = alert.SourceGrafana
	}
	d := &alert.Data{
		Source: source, Kind: kind,
		Receiver:          g.maybe("ops"),
		Status:            g.pick(alert.StatusFiring, alert.StatusResolved, "", "other"),
		Alerts:            as,
		GroupLabels:       g.kv(labelKeys...),
		CommonLabels:      g.kv(labelKeys...),
		CommonAnnotations: g.kv(noteKeys...),
		ExternalURL:       g.maybe("http://alertmanager:9093", "[hr]"),
		TruncatedAlerts:   []int{0, 0, 3, -1}[g.r.IntN(4)],
		Title:             g.maybe("Grafana title", "[title]"),
		Message:           g.maybe("a message", "line\nline"),
	}
	if g.r.IntN(2) == 0 {
		d = d.WithAlerts(as)
	}
	return d
}
