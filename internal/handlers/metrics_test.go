package handlers

import (
	"net/http"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestWebhookMetricLabelsAreBounded(t *testing.T) {
	t.Parallel()
	env := newEnv(t, &fakePipeline{}, nil)
	requests := []struct{ target, body string }{
		{"/v1/alertmanager/ops", payload},
		{"/v1/alertmanager/ops", payload},
		{"/v1/alertmanager/ops", `{"broken"`},
		{"/v1/alertmanager/no-such-route-1", payload},
		{"/v1/alertmanager/no-such-route-2", payload},
		{"/v1/nagios/ops", payload},
		{"/v1/grafana/chatwork/123", payload},
		{"/v1/grafana/chatwork/456", payload},
		{"/v1/generic/chatmessenger/messenger?users=a@x.com", payload},
		{"/v1/preview/generic/ops", payload},
		{"/v1/preview/generic/chatwork/789", payload},
		{"/v1/alertmanager/secure", payload},
		{"/v1/grafana/made-up-kind-1/1", payload},
		{"/v1/grafana/made-up-kind-2/1", payload},
		{"/v1/grafana/console/1", payload},
		{"/v1/grafana/chatwork/general", payload},
	}
	for _, r := range requests {
		env.do(t, http.MethodPost, r.target, jsonType, r.body, nil)
	}
	want := `
# HELP relay_webhooks_received_total Webhooks received, by source, route (or direct_<kind>, preview) and status code.
# TYPE relay_webhooks_received_total counter
relay_webhooks_received_total{code="202",route="ops",source="alertmanager"} 2
relay_webhooks_received_total{code="400",route="ops",source="alertmanager"} 1
relay_webhooks_received_total{code="404",route="unknown",source="alertmanager"} 2
relay_webhooks_received_total{code="404",route="unknown",source="unknown"} 1
relay_webhooks_received_total{code="202",route="direct_chatwork",source="grafana"} 2
relay_webhooks_received_total{code="400",route="direct_chatwork",source="grafana"} 1
relay_webhooks_received_total{code="404",route="unknown",source="grafana"} 3
relay_webhooks_received_total{code="202",route="direct_chatmessenger",source="generic"} 1
relay_webhooks_received_total{code="200",route="preview",source="generic"} 2
relay_webhooks_received_total{code="401",route="secure",source="alertmanager"} 1
`
	if err := testutil.GatherAndCompare(env.reg, strings.NewReader(want), "relay_webhooks_received_total"); err != nil {
		t.Error(err)
	}
}

// TestDirectRouteLabelIsTheKind: a direct URL is counted as direct_<kind>
// for the kinds the router takes direct URLs for, and as unknown for any
// other name in the kind's place, a real kind's included.
func TestDirectRouteLabelIsTheKind(t *testing.T) {
	t.Parallel()
	env := newEnv(t, &fakePipeline{}, func(d *Deps) { d.DirectKinds = []string{"chatmessenger"} })
	for _, target := range []string{
		"/v1/generic/chatmessenger/ops",
		"/v1/generic/chatwork/1",
		"/v1/generic/made-up/1",
	} {
		env.do(t, http.MethodPost, target, jsonType, payload, nil)
	}
	want := `
# HELP relay_webhooks_received_total Webhooks received, by source, route (or direct_<kind>, preview) and status code.
# TYPE relay_webhooks_received_total counter
relay_webhooks_received_total{code="202",route="direct_chatmessenger",source="generic"} 1
relay_webhooks_received_total{code="404",route="unknown",source="generic"} 2
`
	if err := testutil.GatherAndCompare(env.reg, strings.NewReader(want), "relay_webhooks_received_total"); err != nil {
		t.Error(err)
	}
}

func TestRequestDurationIsLabelledByPattern(t *testing.T) {
	t.Parallel()
	env := newEnv(t, &fakePipeline{}, nil)
	env.do(t, http.MethodPost, "/v1/alertmanager/ops", jsonType, payload, nil)
	env.do(t, http.MethodPost, "/v1/grafana/chatwork/123", jsonType, payload, nil)
	env.do(t, http.MethodGet, "/healthz", "", "", nil)
	env.do(t, http.MethodGet, "/no/such/path", "", "", nil)

	families, err := env.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]uint64{}
	for _, f := range families {
		if f.GetName() != "relay_http_request_duration_seconds" {
			continue
		}
		for _, m := range f.GetMetric() {
			var handler, code string
			for _, l := range m.GetLabel() {
				switch l.GetName() {
				case "handler":
					handler = l.GetValue()
				case "code":
					code = l.GetValue()
				}
			}
			got[handler+" "+code] = m.GetHistogram().GetSampleCount()
		}
	}
	want := map[string]uint64{
		"/v1/{source}/{route} 202":       1,
		"/v1/{source}/{kind}/{dest} 202": 1,
		"/healthz 200":                   1,
		"unmatched 404":                  1,
	}
	if len(got) != len(want) {
		t.Errorf("got series %v, want %v", got, want)
	}
	for k, n := range want {
		if got[k] != n {
			t.Errorf("series %q: got %d observations, want %d (all: %v)", k, got[k], n, got)
		}
	}
}
