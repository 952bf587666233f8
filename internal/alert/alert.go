// Package alert holds relay's notification model, the data every template
// sees, and the decoders that turn Alertmanager, Grafana and generic webhooks
// into it. The model follows Alertmanager's template data so that
// Alertmanager templates port unchanged; Grafana and generic payloads add
// their own fields beside it.
package alert

import (
	"sort"
	"strings"
	"time"
)

// Sources relay accepts on /v1/{source}/...
const (
	SourceAlertmanager = "alertmanager"
	SourceGrafana      = "grafana"
	SourceGeneric      = "generic"
)

// Alert statuses, as Alertmanager spells them.
const (
	StatusFiring   = "firing"
	StatusResolved = "resolved"
)

// Kinds of payload within a source. Templates pick their default by kind.
const (
	KindAlertmanager      = "alertmanager"
	KindGrafanaUnified    = "grafana_unified"
	KindGrafanaLegacy     = "grafana_legacy"
	KindJSON              = "json"
	KindText              = "text"
	KindGitLabPipeline    = "gitlab_pipeline"
	KindGitHubWorkflowRun = "github_workflow_run"
)

// Data is one decoded webhook: the notification model and the template data.
// The first block of fields is Alertmanager's template.Data (version 0.35),
// with its JSON names and order, so that {{ toJson . }} prints what
// Alertmanager prints for an Alertmanager payload.
type Data struct {
	Receiver           string `json:"receiver"`
	Status             string `json:"status"`
	Alerts             Alerts `json:"alerts"`
	NotificationReason string `json:"notification_reason"`
	GroupLabels        KV     `json:"groupLabels"`
	CommonLabels       KV     `json:"commonLabels"`
	CommonAnnotations  KV     `json:"commonAnnotations"`
	// RouteLabels are the labels of the Alertmanager route, as rendered by
	// Alertmanager; templates read them with routeLabels "name".
	RouteLabels KV     `json:"routeLabels"`
	ExternalURL string `json:"externalURL"`

	// Source is alertmanager, grafana or generic; Kind refines it (Kind*).
	Source string `json:"-"`
	Kind   string `json:"-"`
	// GroupKey is Alertmanager's groupKey (empty for other sources).
	GroupKey string `json:"-"`
	// TruncatedAlerts is Alertmanager's count of alerts left out of the payload.
	TruncatedAlerts int `json:"-"`

	// Grafana extras.
	Title   string `json:"title,omitempty"`
	Message string `json:"message,omitempty"`
	OrgID   int64  `json:"orgId,omitempty"`

	// Payload is the decoded JSON object of a generic webhook (nil otherwise).
	Payload map[string]any `json:"payload,omitempty"`
	// Text is the body of a text/plain generic webhook.
	Text string `json:"text,omitempty"`
}

// Alert is one alert of a notification; the first block is Alertmanager's
// template.Alert.
type Alert struct {
	Status       string    `json:"status"`
	Labels       KV        `json:"labels"`
	Annotations  KV        `json:"annotations"`
	StartsAt     time.Time `json:"startsAt"`
	EndsAt       time.Time `json:"endsAt"`
	GeneratorURL string    `json:"generatorURL"`
	Fingerprint  string    `json:"fingerprint"`

	// Grafana extras.
	Values       map[string]float64 `json:"values,omitempty"`
	ValueString  string             `json:"valueString,omitempty"`
	DashboardURL string             `json:"dashboardURL,omitempty"`
	PanelURL     string             `json:"panelURL,omitempty"`
	SilenceURL   string             `json:"silenceURL,omitempty"`
	ImageURL     string             `json:"imageURL,omitempty"`
}

// Alerts is a list of alerts with Alertmanager's helpers.
type Alerts []Alert

// Firing returns the alerts that are firing.
func (as Alerts) Firing() []Alert { return as.withStatus(StatusFiring) }

// Resolved returns the alerts that are resolved.
func (as Alerts) Resolved() []Alert { return as.withStatus(StatusResolved) }

func (as Alerts) withStatus(s string) []Alert {
	res := []Alert{}
	for _, a := range as {
		if a.Status == s {
			res = append(res, a)
		}
	}
	return res
}

// KV is a set of labels or annotations, with Alertmanager's methods.
type KV map[string]string

// Pair is one name and value of a KV.
type Pair struct {
	Name, Value string
}

// Pairs is a list of pairs, as KV.SortedPairs returns it.
type Pairs []Pair

// Strings is a list of names or values; templates can join it with
// {{ .GroupLabels.Values.Join ":" }}.
type Strings []string

// Join joins the strings with sep.
func (s Strings) Join(sep string) string { return strings.Join(s, sep) }

// Names returns the names of the pairs, in order.
func (ps Pairs) Names() Strings {
	ns := make(Strings, 0, len(ps))
	for _, p := range ps {
		ns = append(ns, p.Name)
	}
	return ns
}

// Values returns the values of the pairs, in order.
func (ps Pairs) Values() Strings {
	vs := make(Strings, 0, len(ps))
	for _, p := range ps {
		vs = append(vs, p.Value)
	}
	return vs
}

// String joins the pairs as "name=value" separated by ", ", as
// Alertmanager prints them.
func (ps Pairs) String() string {
	b := strings.Builder{}
	for i, p := range ps {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(p.Name)
		b.WriteByte('=')
		b.WriteString(p.Value)
	}
	return b.String()
}

// SortedPairs returns the pairs in Alertmanager's order: alertname first,
// then the others sorted by name.
func (kv KV) SortedPairs() Pairs {
	names := make([]string, 0, len(kv))
	for k := range kv {
		if k != alertnameLabel {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	ps := make(Pairs, 0, len(kv))
	if v, ok := kv[alertnameLabel]; ok {
		ps = append(ps, Pair{Name: alertnameLabel, Value: v})
	}
	for _, n := range names {
		ps = append(ps, Pair{Name: n, Value: kv[n]})
	}
	return ps
}

// alertnameLabel is the label Alertmanager lists first.
const alertnameLabel = "alertname"

// Remove returns a copy of kv without the given names.
func (kv KV) Remove(names []string) KV {
	res := make(KV, len(kv))
	for k, v := range kv {
		res[k] = v
	}
	for _, n := range names {
		delete(res, n)
	}
	return res
}

// Names returns the names in SortedPairs order.
func (kv KV) Names() Strings {
	return kv.SortedPairs().Names()
}

// Values returns the values in SortedPairs order.
func (kv KV) Values() Strings {
	return kv.SortedPairs().Values()
}

// String prints kv as its SortedPairs: "alertname=X, job=api".
func (kv KV) String() string {
	return kv.SortedPairs().String()
}

// WithAlerts returns a shallow copy of d that holds only as, with Status,
// CommonLabels and CommonAnnotations recomputed for them. Routes use it to
// keep the alerts a target's matchers select, and templates to split a long
// message at alert boundaries.
func (d *Data) WithAlerts(as Alerts) *Data {
	c := *d
	c.Alerts = as
	c.Status = StatusResolved
	for _, a := range as {
		if a.Status != StatusResolved {
			c.Status = StatusFiring
			break
		}
	}
	if len(as) == 0 {
		c.Status = d.Status
	}
	c.CommonLabels = common(as, func(a Alert) KV { return a.Labels }, d.CommonLabels)
	c.CommonAnnotations = common(as, func(a Alert) KV { return a.Annotations }, d.CommonAnnotations)
	return &c
}

func common(as Alerts, kv func(Alert) KV, fallback KV) KV {
	if len(as) == 0 {
		return fallback
	}
	res := KV{}
	for k, v := range kv(as[0]) {
		res[k] = v
	}
	for _, a := range as[1:] {
		m := kv(a)
		for k, v := range res {
			if w, ok := m[k]; !ok || w != v {
				delete(res, k)
			}
		}
	}
	return res
}
