package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/relayhq/relay/internal/alert"
)

func TestPayloadsAreValidAndDistinct(t *testing.T) {
	t.Parallel()
	a, err := alert.Decode(alert.SourceAlertmanager, "application/json", nil, payload(alertName("I8", 1)))
	if err != nil {
		t.Fatalf("decode payload: %v", err)
	}
	b, err := alert.Decode(alert.SourceAlertmanager, "application/json", nil, payload(alertName("I8", 2)))
	if err != nil {
		t.Fatalf("decode payload: %v", err)
	}
	if got, want := a.Alerts[0].Labels["alertname"], "BenchI80000001"; got != want {
		t.Errorf("alertname = %q, want %q", got, want)
	}
	if a.GroupKey == b.GroupKey || a.Alerts[0].Fingerprint == b.Alerts[0].Fingerprint {
		t.Errorf("payloads 1 and 2 share a group key (%q) or fingerprint (%q): dedup could skip them",
			a.GroupKey, a.Alerts[0].Fingerprint)
	}
}

func TestRunLoadCountsAndNamesEveryRequest(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	seen := map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		d, err := alert.Decode(alert.SourceAlertmanager, "application/json", nil, body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		mu.Lock()
		seen[d.Alerts[0].Labels["alertname"]]++
		n := len(seen)
		mu.Unlock()
		if n%10 == 0 {
			w.WriteHeader(http.StatusServiceUnavailable) // every tenth name fails
			return
		}
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(srv.Close)

	res := runLoad(context.Background(), loadSpec{URL: srv.URL, Run: "T", Clients: 4, Count: 100})
	if res.Requests != 90 || res.Failed != 10 {
		t.Errorf("got %d accepted and %d failed, want 90 and 10", res.Requests, res.Failed)
	}
	if len(seen) != 100 {
		t.Errorf("the server saw %d distinct alert names, want 100", len(seen))
	}
	if res.FirstErr == "" {
		t.Error("FirstErr is empty after failures")
	}
	if res.P50 <= 0 || res.P99 < res.P50 || res.Max < res.P99 {
		t.Errorf("latencies p50 %v, p99 %v, max %v: want 0 < p50 <= p99 <= max", res.P50, res.P99, res.Max)
	}
}

func TestRunLoadForADuration(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(srv.Close)
	res := runLoad(context.Background(), loadSpec{URL: srv.URL, Run: "D", Clients: 2,
		Duration: 200 * time.Millisecond, Warmup: 50 * time.Millisecond})
	if res.Requests == 0 || res.Failed != 0 {
		t.Errorf("got %d accepted and %d failed, want some and none", res.Requests, res.Failed)
	}
	if res.PerSecond() <= 0 {
		t.Errorf("PerSecond = %v, want > 0", res.PerSecond())
	}
}

func TestInts(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, in string
		want     []int
		wantErr  bool
	}{
		{"list", "1,8, 64", []int{1, 8, 64}, false},
		{"one", "100", []int{100}, false},
		{"zero", "0", nil, true},
		{"word", "1,many", nil, true},
		{"empty", "", nil, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := ints(c.in)
			if (err != nil) != c.wantErr || len(got) != len(c.want) {
				t.Fatalf("ints(%q) = %v, %v; want %v, error %v", c.in, got, err, c.want, c.wantErr)
			}
			for i := range got {
				if got[i] != c.want[i] {
					t.Errorf("ints(%q) = %v, want %v", c.in, got, c.want)
				}
			}
		})
	}
}
