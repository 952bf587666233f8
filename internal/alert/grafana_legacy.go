package alert

import (
	"fmt"
	"maps"
	"strconv"
)

// legacyMatch is one series that matched a legacy Grafana alert rule.
type legacyMatch struct {
	Value  *float64 `json:"value"`
	Metric string   `json:"metric"`
	Tags   KV       `json:"tags"`
}

// legacyStatus maps a legacy Grafana rule state to an alert status. Paused
// and pending rules are not alerting, so they count as resolved.
func legacyStatus(state string) (string, bool) {
	switch state {
	case "alerting", "no_data":
		return StatusFiring, true
	case "ok", "paused", "pending":
		return StatusResolved, true
	}
	return "", false
}

// legacyAlertname is the alertname of a legacy alert whose rule has no name.
const legacyAlertname = "GrafanaAlert"

// legacy converts a legacy alerting payload: one alert per evalMatch (one
// alert when there is none), labelled alertname=ruleName plus the rule's
// tags, the match's tags and its metric.
func (m *grafanaMessage) legacy() (*Data, error) {
	const src = SourceGrafana
	status, ok := legacyStatus(m.State)
	if !ok {
		return nil, &DecodeError{Source: src, Path: "state",
			Msg: fmt.Sprintf("want one of alerting, ok, no_data, paused, pending; got %s", quote(m.State))}
	}
	name := m.RuleName
	if name == "" {
		name = legacyAlertname
	}
	ann := KV{}
	setIf(ann, "summary", m.Title)
	setIf(ann, "description", m.Message)
	newAlert := func(match legacyMatch) Alert {
		labels := KV{}
		maps.Copy(labels, m.Tags)
		maps.Copy(labels, match.Tags)
		setIf(labels, "metric", match.Metric)
		labels["alertname"] = name
		a := Alert{Status: status, Labels: labels, Annotations: maps.Clone(ann),
			GeneratorURL: m.RuleURL, ImageURL: m.ImageURL, Fingerprint: labels.fingerprint()}
		if match.Value != nil {
			metric := match.Metric
			if metric == "" {
				metric = "value"
			}
			a.Values = map[string]float64{metric: *match.Value}
			a.ValueString = metric + "=" + strconv.FormatFloat(*match.Value, 'g', -1, 64)
		}
		return a
	}
	var as Alerts
	for i, raw := range m.EvalMatches {
		var match legacyMatch
		if err := decodeObject(src, fmt.Sprintf("evalMatches[%d]", i), raw, &match); err != nil {
			return nil, err
		}
		as = append(as, newAlert(match))
	}
	if len(as) == 0 {
		as = Alerts{newAlert(legacyMatch{})}
	}
	labelsOf := func(a Alert) KV { return a.Labels }
	return &Data{
		Status:            status,
		Alerts:            as,
		GroupLabels:       KV{"alertname": name},
		CommonLabels:      common(as, labelsOf, KV{}),
		CommonAnnotations: maps.Clone(ann),
		Source:            src,
		Kind:              KindGrafanaLegacy,
		Title:             m.Title,
		Message:           m.Message,
		OrgID:             m.OrgID,
	}, nil
}

// setIf sets kv[k] to v unless v is empty: an empty label is no label.
func setIf(kv KV, k, v string) {
	if v != "" {
		kv[k] = v
	}
}
