package alert

import (
	"encoding/json"
	"fmt"
)

// amMessage is Alertmanager's webhook payload, version 4, as Alertmanager
// 0.35 sends it. Unknown fields are ignored; notification_reason and
// routeLabels are absent from older Alertmanagers' payloads.
type amMessage struct {
	Version            string     `json:"version"`
	GroupKey           string     `json:"groupKey"`
	TruncatedAlerts    int        `json:"truncatedAlerts"`
	Status             string     `json:"status"`
	Receiver           string     `json:"receiver"`
	NotificationReason string     `json:"notification_reason"`
	GroupLabels        KV         `json:"groupLabels"`
	CommonLabels       KV         `json:"commonLabels"`
	CommonAnnotations  KV         `json:"commonAnnotations"`
	RouteLabels        KV         `json:"routeLabels"`
	ExternalURL        string     `json:"externalURL"`
	Alerts             []*amAlert `json:"alerts"`
}

// amAlert is one alert as Alertmanager sends it; Grafana's unified alerting
// sends the same fields and more.
type amAlert struct {
	Status       string `json:"status"`
	Labels       KV     `json:"labels"`
	Annotations  KV     `json:"annotations"`
	StartsAt     string `json:"startsAt"`
	EndsAt       string `json:"endsAt"`
	GeneratorURL string `json:"generatorURL"`
	Fingerprint  string `json:"fingerprint"`
}

// DecodeAlertmanager decodes an Alertmanager webhook payload (version "4";
// a missing version is accepted) in one pass. A payload that does not
// decode is decoded again alert by alert, so that the error names the
// alert it is in (alertmanagerError).
func DecodeAlertmanager(body []byte) (*Data, error) {
	const src = SourceAlertmanager
	var m amMessage
	if err := decodeObject(src, "", body, &m); err != nil {
		return nil, alertmanagerError(body, err)
	}
	if m.Version != "" && m.Version != "4" {
		return nil, &DecodeError{Source: src, Path: "version",
			Msg: fmt.Sprintf(`unsupported version %s; want "4"`, quote(m.Version))}
	}
	if err := checkStatus(src, "status", m.Status); err != nil {
		return nil, err
	}
	if len(m.Alerts) == 0 {
		return nil, errNoAlerts(src)
	}
	as := make(Alerts, 0, len(m.Alerts))
	for i, w := range m.Alerts {
		if w == nil {
			return nil, &DecodeError{Source: src, Path: alertPath(i), Msg: "want a JSON object, got " + jsonKind('n')}
		}
		a, err := w.alert(src, alertPath(i))
		if err != nil {
			return nil, err
		}
		as = append(as, a)
	}
	return m.data(as), nil
}

// alertmanagerError returns the error to report for a payload that failed
// to decode with err. It decodes the payload again with the alerts kept
// raw, then each alert on its own, and returns the first error, which
// names the alert it is in ("alerts[2].labels"); the one-pass decode can
// only name the field. An error outside the alerts is err itself.
func alertmanagerError(body []byte, err error) error {
	const src = SourceAlertmanager
	var raw struct {
		Alerts []json.RawMessage `json:"alerts"`
	}
	if rerr := decodeObject(src, "", body, &raw); rerr != nil {
		return rerr
	}
	for i, r := range raw.Alerts {
		var w amAlert
		if aerr := decodeObject(src, alertPath(i), r, &w); aerr != nil {
			return aerr
		}
	}
	return err
}

// data returns the notification of m with alerts as.
func (m *amMessage) data(as Alerts) *Data {
	const src = SourceAlertmanager
	return &Data{
		Receiver:           m.Receiver,
		Status:             m.Status,
		Alerts:             as,
		NotificationReason: m.NotificationReason,
		GroupLabels:        orEmpty(m.GroupLabels),
		CommonLabels:       orEmpty(m.CommonLabels),
		CommonAnnotations:  orEmpty(m.CommonAnnotations),
		RouteLabels:        orEmpty(m.RouteLabels),
		ExternalURL:        m.ExternalURL,
		Source:             src,
		Kind:               KindAlertmanager,
		GroupKey:           m.GroupKey,
		TruncatedAlerts:    m.TruncatedAlerts,
	}
}

// alert checks w and converts it; path names it in errors. A missing
// fingerprint is computed from the labels as Alertmanager does.
func (w *amAlert) alert(source, path string) (Alert, error) {
	if err := checkStatus(source, path+".status", w.Status); err != nil {
		return Alert{}, err
	}
	if len(w.Labels) == 0 {
		return Alert{}, &DecodeError{Source: source, Path: path + ".labels", Msg: "alert has no labels"}
	}
	starts, err := parseTime(source, path+".startsAt", w.StartsAt)
	if err != nil {
		return Alert{}, err
	}
	ends, err := parseTime(source, path+".endsAt", w.EndsAt)
	if err != nil {
		return Alert{}, err
	}
	fp := w.Fingerprint
	if fp == "" {
		fp = w.Labels.fingerprint()
	}
	return Alert{
		Status:       w.Status,
		Labels:       w.Labels,
		Annotations:  orEmpty(w.Annotations),
		StartsAt:     starts,
		EndsAt:       ends,
		GeneratorURL: w.GeneratorURL,
		Fingerprint:  fp,
	}, nil
}
