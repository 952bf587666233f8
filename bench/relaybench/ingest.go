package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"
)

// ingestResult pairs the relay and the baseline at one concurrency.
type ingestResult struct {
	Relay, Baseline loadResult
}

// Ratio is relay throughput over baseline throughput.
func (r ingestResult) Ratio() float64 {
	if r.Baseline.PerSecond() == 0 {
		return 0
	}
	return r.Relay.PerSecond() / r.Baseline.PerSecond()
}

// acceptAll is an upstream that answers every Chatwork post 200, so that
// the relay's dispatcher runs as in production while ingest is measured
// (it still paces each room to 10 posts per 10 s).
func acceptAll() *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"message_id":"1"}`))
	}))
}

// ingestStore is the outbox of the ingest run at clients: o.store, or a
// fresh SQLite file in o.dir (synchronous=FULL).
func ingestStore(o options, clients int) string {
	if o.store != "" {
		return o.store
	}
	return fmt.Sprintf("sqlite://%s/ingest-%d.db", o.dir, clients)
}

// runIngest measures durable ingest of distinct Alertmanager webhooks at
// clients concurrent clients: a fresh relay on store against the baseline
// server.
func runIngest(ctx context.Context, relayBin, baselineBin, store string, clients int, d, warmup time.Duration) (ingestResult, error) {
	up := acceptAll()
	defer up.Close()
	relay, err := startRelay(relayBin, map[string]string{
		"RELAY_STORE":            store,
		"RELAY_CHATWORK_TOKEN":   benchToken,
		"RELAY_CHATWORK_API_URL": up.URL + "/v2",
	})
	if err != nil {
		return ingestResult{}, err
	}
	var res ingestResult
	res.Relay = runLoad(ctx, loadSpec{URL: relay.URL + "/v1/alertmanager/chatwork/100", Run: fmt.Sprintf("I%d", clients),
		Clients: clients, Duration: d, Warmup: warmup, CPU: relay.cpuTime})
	relay.stop()

	base, err := startBaseline(baselineBin)
	if err != nil {
		return res, err
	}
	res.Baseline = runLoad(ctx, loadSpec{URL: base.URL + "/v1/alertmanager/chatwork/100", Run: fmt.Sprintf("B%d", clients),
		Clients: clients, Duration: d, Warmup: warmup, CPU: base.cpuTime})
	base.stop()
	return res, nil
}
