package alert

import (
	"encoding/json"
	"fmt"
)

// grafanaMessage holds the fields of both Grafana webhook payloads: unified
// alerting (Grafana 8+, "version": "1") and legacy alerting (Grafana < 8,
// no version, a flat ruleName/state/evalMatches).
type grafanaMessage struct {
	Version           string            `json:"version"`
	Receiver          string            `json:"receiver"`
	Status            string            `json:"status"`
	OrgID             int64             `json:"orgId"`
	Alerts            []json.RawMessage `json:"alerts"`
	GroupLabels       KV                `json:"groupLabels"`
	CommonLabels      KV                `json:"commonLabels"`
	CommonAnnotations KV                `json:"commonAnnotations"`
	ExternalURL       string            `json:"externalURL"`
	GroupKey          string            `json:"groupKey"`
	TruncatedAlerts   int               `json:"truncatedAlerts"`
	Title             string            `json:"title"`
	State             string            `json:"state"`
	Message           string            `json:"message"`

	// Legacy alerting only.
	RuleName    string            `json:"ruleName"`
	RuleURL     string            `json:"ruleUrl"`
	ImageURL    string            `json:"imageUrl"`
	Tags        KV                `json:"tags"`
	EvalMatches []json.RawMessage `json:"evalMatches"`
}

// grafanaAlert is one alert of a unified alerting payload: Alertmanager's
// fields and Grafana's extras.
type grafanaAlert struct {
	amAlert
	Values       map[string]float64 `json:"values"`
	ValueString  string             `json:"valueString"`
	DashboardURL string             `json:"dashboardURL"`
	PanelURL     string             `json:"panelURL"`
	SilenceURL   string             `json:"silenceURL"`
	ImageURL     string             `json:"imageURL"`
}

// DecodeGrafana decodes a Grafana webhook payload: unified alerting
// (version "1", Kind grafana_unified) or legacy alerting (no version, with
// ruleName or evalMatches, Kind grafana_legacy). A payload without a version
// that has alerts is taken as unified.
func DecodeGrafana(body []byte) (*Data, error) {
	var m grafanaMessage
	if err := decodeObject(SourceGrafana, "", body, &m); err != nil {
		return nil, err
	}
	switch {
	case m.Version == "1", m.Version == "" && m.Alerts != nil:
		return m.unified()
	case m.Version == "" && (m.RuleName != "" || m.EvalMatches != nil):
		return m.legacy()
	case m.Version != "":
		return nil, &DecodeError{Source: SourceGrafana, Path: "version",
			Msg: fmt.Sprintf(`unsupported version %s; want "1" (unified alerting) or none (legacy alerting)`, quote(m.Version))}
	}
	return nil, &DecodeError{Source: SourceGrafana,
		Msg: `neither unified alerting (version "1" with alerts) nor legacy alerting (ruleName, evalMatches)`}
}

// unified converts a unified alerting payload.
func (m *grafanaMessage) unified() (*Data, error) {
	const src = SourceGrafana
	if err := checkStatus(src, "status", m.Status); err != nil {
		return nil, err
	}
	as, err := decodeAlerts(src, m.Alerts, func(path string, raw json.RawMessage) (Alert, error) {
		var w grafanaAlert
		if err := decodeObject(src, path, raw, &w); err != nil {
			return Alert{}, err
		}
		a, err := w.alert(src, path)
		if err != nil {
			return Alert{}, err
		}
		a.Values, a.ValueString = w.Values, w.ValueString
		a.DashboardURL, a.PanelURL, a.SilenceURL, a.ImageURL = w.DashboardURL, w.PanelURL, w.SilenceURL, w.ImageURL
		return a, nil
	})
	if err != nil {
		return nil, err
	}
	return &Data{
		Receiver:          m.Receiver,
		Status:            m.Status,
		Alerts:            as,
		GroupLabels:       orEmpty(m.GroupLabels),
		CommonLabels:      orEmpty(m.CommonLabels),
		CommonAnnotations: orEmpty(m.CommonAnnotations),
		ExternalURL:       m.ExternalURL,
		Source:            src,
		Kind:              KindGrafanaUnified,
		GroupKey:          m.GroupKey,
		TruncatedAlerts:   m.TruncatedAlerts,
		Title:             m.Title,
		Message:           m.Message,
		OrgID:             m.OrgID,
	}, nil
}
