package templates

import (
	"slices"
	"strconv"
	"strings"

	"github.com/relayhq/relay/internal/alert"
)

// The built-in templates for Alertmanager and Grafana notifications are the
// ones nearly every webhook uses, and text/template executes them by
// reflection: a render cost a quarter of the relay's CPU per webhook. Here
// they are written out in Go, for the built-in set only (a custom template
// set, which may redefine "relay.alert" and the like, always runs through
// text/template). defaults/alerts.tmpl and defaults/chatwork.tmpl stay the
// definition: TestCompiledMatchesTemplates and FuzzCompiledMatchesTemplates
// hold every function here to the output of the template it replaces.

// compiledFunc writes the message for d, which prepare has made: the same
// data the template would see. The result goes through execute's trimming.
type compiledFunc func(b *strings.Builder, d *alert.Data)

// compiled maps built-in template names to their Go form.
var compiled = map[string]compiledFunc{
	"chatwork.alertmanager":    chatworkAlerts,
	"chatwork.grafana_unified": chatworkAlerts,
	"chatwork.grafana_legacy":  chatworkAlerts,
	"text.alertmanager":        textAlerts,
	"text.grafana_unified":     textAlerts,
	"text.grafana_legacy":      textAlerts,
}

// chatworkAlerts is "chatwork.alertmanager".
func chatworkAlerts(b *strings.Builder, d *alert.Data) {
	b.WriteString("[info][title]")
	writeTitle(b, d)
	b.WriteString("[/title]")
	writeAlerts(b, d)
	b.WriteString("[/info]")
}

// textAlerts is "text.alertmanager".
func textAlerts(b *strings.Builder, d *alert.Data) {
	writeTitle(b, d)
	b.WriteByte('\n')
	writeAlerts(b, d)
}

// writeTitle is "relay.title": "[" relay.status "] " relay.names, and the
// common severity.
func writeTitle(b *strings.Builder, d *alert.Data) {
	b.WriteByte('[')
	switch firing := countStatus(d.Alerts, alert.StatusFiring); {
	case d.Status == alert.StatusResolved:
		b.WriteString("RESOLVED")
	case firing > 0:
		b.WriteString("FIRING:")
		b.WriteString(strconv.Itoa(firing))
	case d.Status == alert.StatusFiring:
		b.WriteString("FIRING")
	default:
		b.WriteString("ALERT")
	}
	b.WriteString("] ")
	writeNames(b, d)
	if sev := d.CommonLabels["severity"]; sev != "" {
		b.WriteString(" (")
		b.WriteString(sev)
		b.WriteByte(')')
	}
}

// writeNames is "relay.names": the common alert name, or up to three
// distinct names in order, or the title, or "Alert".
func writeNames(b *strings.Builder, d *alert.Data) {
	if n := d.CommonLabels["alertname"]; n != "" {
		b.WriteString(n)
		return
	}
	var names []string
	for _, a := range d.Alerts {
		if n := a.Labels["alertname"]; n != "" && !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	switch {
	case len(names) > 3:
		b.WriteString(strings.Join(names[:3], ", "))
		b.WriteString(" and ")
		b.WriteString(strconv.Itoa(len(names) - 3))
		b.WriteString(" more")
	case len(names) > 0:
		b.WriteString(strings.Join(names, ", "))
	case d.Title != "":
		b.WriteString(d.Title)
	default:
		b.WriteString("Alert")
	}
}

// writeAlerts is "relay.alerts": the common labels, then the alerts by
// status, then what Alertmanager left out and where the alerts came from.
func writeAlerts(b *strings.Builder, d *alert.Data) {
	if d.Message != "" && len(d.Alerts) == 0 {
		b.WriteString(d.Message)
		b.WriteByte('\n')
	}
	if writeLabels(b, "Labels: ", d.CommonLabels, titled) {
		b.WriteByte('\n')
	}
	hide := append(d.CommonLabels.Names(), titled...)
	for _, group := range [...]struct {
		heading string
		in      func(status string) bool
	}{
		{"FIRING", func(s string) bool { return s == alert.StatusFiring }},
		{"RESOLVED", func(s string) bool { return s == alert.StatusResolved }},
		{"OTHER", func(s string) bool { return s != alert.StatusFiring && s != alert.StatusResolved }},
	} {
		n := 0
		for i := range d.Alerts {
			if group.in(d.Alerts[i].Status) {
				n++
			}
		}
		if n == 0 {
			continue
		}
		b.WriteByte('\n')
		b.WriteString(group.heading)
		b.WriteString(" (")
		b.WriteString(strconv.Itoa(n))
		b.WriteString(")\n")
		for i := range d.Alerts {
			if group.in(d.Alerts[i].Status) {
				writeAlert(b, &d.Alerts[i], hide)
			}
		}
	}
	if d.TruncatedAlerts != 0 {
		b.WriteByte('\n')
		b.WriteString(strconv.Itoa(d.TruncatedAlerts))
		b.WriteString(" more alerts were left out by Alertmanager.\n")
	}
	if d.ExternalURL != "" {
		b.WriteByte('\n')
		if d.Source == alert.SourceGrafana {
			b.WriteString("Grafana: ")
		} else {
			b.WriteString("Alertmanager: ")
		}
		b.WriteString(d.ExternalURL)
		b.WriteByte('\n')
	}
}

// writeAlert is "relay.alert": one alert, without the labels hide names.
func writeAlert(b *strings.Builder, a *alert.Alert, hide []string) {
	b.WriteString("- ")
	if n := a.Labels["alertname"]; n != "" {
		b.WriteString(n)
	} else {
		b.WriteString("alert")
	}
	if sev := a.Labels["severity"]; sev != "" {
		b.WriteString(" (")
		b.WriteString(sev)
		b.WriteByte(')')
	}
	writeLabels(b, " ", a.Labels, hide)
	b.WriteByte('\n')
	summary, description := a.Annotations["summary"], a.Annotations["description"]
	writeIndented(b, summary)
	writeIndented(b, description)
	if summary == "" && description == "" {
		writeIndented(b, a.Annotations["message"])
	}
	writeLine(b, "  Value: ", a.ValueString)
	if !a.StartsAt.IsZero() {
		writeLine(b, "  Since: ", a.StartsAt.Format(dateLayout))
	}
	if a.Status == alert.StatusResolved && !a.EndsAt.IsZero() {
		writeLine(b, "  Resolved: ", a.EndsAt.Format(dateLayout))
	}
	writeLine(b, "  Runbook: ", a.Annotations["runbook_url"])
	writeLine(b, "  Source: ", a.GeneratorURL)
	writeLine(b, "  Dashboard: ", a.DashboardURL)
	writeLine(b, "  Panel: ", a.PanelURL)
	writeLine(b, "  Silence: ", a.SilenceURL)
	writeLine(b, "  Image: ", a.ImageURL)
}

// dateLayout is the layout the built-in templates pass to date.
const dateLayout = "2006-01-02 15:04:05 MST"

// titled are the labels shown in the title and in an alert's first line
// rather than in the label lists.
var titled = []string{"alertname", "severity"}

// writeLabels writes prefix and the labels of kv but those named in hide,
// as KV.SortedPairs prints them; nothing when none is left. It reports
// whether it wrote.
func writeLabels(b *strings.Builder, prefix string, kv alert.KV, hide []string) bool {
	rest := kv.Remove(hide)
	if len(rest) == 0 {
		return false
	}
	b.WriteString(prefix)
	b.WriteString(rest.SortedPairs().String())
	return true
}

// writeIndented is sprig's "indent 2" and a newline, for a non-empty s.
func writeIndented(b *strings.Builder, s string) {
	if s == "" {
		return
	}
	b.WriteString("  ")
	for {
		i := strings.IndexByte(s, '\n')
		if i < 0 {
			break
		}
		b.WriteString(s[:i+1])
		b.WriteString("  ")
		s = s[i+1:]
	}
	b.WriteString(s)
	b.WriteByte('\n')
}

// writeLine writes label, value and a newline, for a non-empty value.
func writeLine(b *strings.Builder, label, value string) {
	if value == "" {
		return
	}
	b.WriteString(label)
	b.WriteString(value)
	b.WriteByte('\n')
}

func countStatus(as alert.Alerts, status string) int {
	n := 0
	for i := range as {
		if as[i].Status == status {
			n++
		}
	}
	return n
}
