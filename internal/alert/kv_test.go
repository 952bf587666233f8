package alert

import (
	"slices"
	"testing"

	"github.com/prometheus/common/model"
)

// TestKVOrderIsAlertmanagers: alertname first, then the other names sorted
// bytewise, so names sorting before it (account, agent, capitals) follow it.
func TestKVOrderIsAlertmanagers(t *testing.T) {
	t.Parallel()
	kv := KV{"job": "api", "account": "acme", "alertname": "Down", "Zone": "z1", "agent": "a7"}
	wantNames := []string{"alertname", "Zone", "account", "agent", "job"}
	if got := kv.Names(); !slices.Equal(got, wantNames) {
		t.Errorf("Names = %q, want %q", got, wantNames)
	}
	if got, want := kv.Values(), []string{"Down", "z1", "acme", "a7", "api"}; !slices.Equal(got, want) {
		t.Errorf("Values = %q, want %q", got, want)
	}
	if got, want := kv.String(), "alertname=Down, Zone=z1, account=acme, agent=a7, job=api"; got != want {
		t.Errorf("String = %q, want %q", got, want)
	}
	if got, want := kv.SortedPairs().String(), kv.String(); got != want {
		t.Errorf("SortedPairs().String = %q, want %q", got, want)
	}
	if got, want := kv.Names().Join("|"), "alertname|Zone|account|agent|job"; got != want {
		t.Errorf("Names().Join = %q, want %q", got, want)
	}
	if got, want := (KV{"b": "2", "a": "1"}).String(), "a=1, b=2"; got != want {
		t.Errorf("without alertname: String = %q, want %q", got, want)
	}
	if got := (KV(nil)).String(); got != "" {
		t.Errorf("nil KV prints %q, want nothing", got)
	}
	rest := kv.Remove([]string{"alertname", "job"})
	if got, want := rest.String(), "Zone=z1, account=acme, agent=a7"; got != want {
		t.Errorf("Remove: %q, want %q", got, want)
	}
	if len(kv) != 5 {
		t.Errorf("Remove changed its receiver: %v", kv)
	}
}

// TestFingerprintSortsAlertnameWithTheRest: Alertmanager's fingerprint
// (Prometheus' LabelSet.Fingerprint) hashes the labels in plain name order,
// unlike SortedPairs.
func TestFingerprintSortsAlertnameWithTheRest(t *testing.T) {
	t.Parallel()
	kv := KV{"alertname": "Down", "account": "acme", "Zone": "z1", "job": "api"}
	ls := model.LabelSet{}
	for k, v := range kv {
		ls[model.LabelName(k)] = model.LabelValue(v)
	}
	if got, want := kv.fingerprint(), ls.Fingerprint().String(); got != want {
		t.Errorf("fingerprint = %s, want Prometheus' %s", got, want)
	}
}

// TestDecodeAlertmanagerReasonAndRouteLabels decodes the fields
// Alertmanager 0.35 added to the payload, and leaves them empty for older
// payloads.
func TestDecodeAlertmanagerReasonAndRouteLabels(t *testing.T) {
	t.Parallel()
	body := `{"version":"4","status":"firing","receiver":"ops","notification_reason":"new alerts added",
		"routeLabels":{"team":"db"},"alerts":[{"status":"firing","labels":{"alertname":"X"}}]}`
	d, err := DecodeAlertmanager([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if d.NotificationReason != "new alerts added" || d.RouteLabels["team"] != "db" {
		t.Errorf("got reason %q route labels %v", d.NotificationReason, d.RouteLabels)
	}
	old, err := DecodeAlertmanager(fixture(t, "alertmanager/firing.json"))
	if err != nil {
		t.Fatal(err)
	}
	if old.NotificationReason != "" || old.RouteLabels == nil || len(old.RouteLabels) != 0 {
		t.Errorf("older payload: got reason %q route labels %#v, want none and an empty KV", old.NotificationReason, old.RouteLabels)
	}
}
