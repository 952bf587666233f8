package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// payloadTemplate is an Alertmanager webhook (version 4) shaped like the
// repository's testdata firing.json. ALERTID is replaced by a distinct id
// per request, so that the group key, alert name and fingerprint differ and
// relay's duplicate detection never shortcuts the commit.
const payloadTemplate = `{
  "receiver": "relay-oncall",
  "status": "firing",
  "alerts": [
    {
      "status": "firing",
      "labels": {
        "alertname": "ALERTID",
        "env": "prod",
        "instance": "api-1.prod.example.com:8080",
        "job": "checkout-api",
        "service": "checkout",
        "severity": "critical"
      },
      "annotations": {
        "description": "5.2% of requests to checkout-api on api-1.prod.example.com:8080 failed with a 5xx status over the last 5 minutes.",
        "runbook_url": "https://runbooks.example.com/checkout/high-error-rate",
        "summary": "High 5xx error rate on checkout-api (ALERTID)"
      },
      "startsAt": "2024-05-14T09:12:37.482Z",
      "endsAt": "0001-01-01T00:00:00Z",
      "generatorURL": "http://prometheus-0.monitoring.svc:9090/graph?g0.expr=sum+by+%28instance%29+%28rate%28http_requests_total%7Bjob%3D%22checkout-api%22%2Ccode%3D~%225..%22%7D%5B5m%5D%29%29&g0.tab=1",
      "fingerprint": "ALERTID"
    }
  ],
  "groupLabels": {"alertname": "ALERTID", "service": "checkout"},
  "commonLabels": {"alertname": "ALERTID", "env": "prod", "job": "checkout-api", "service": "checkout", "severity": "critical"},
  "commonAnnotations": {"summary": "High 5xx error rate on checkout-api (ALERTID)"},
  "externalURL": "http://alertmanager-0.monitoring.svc:9093",
  "version": "4",
  "groupKey": "{}/{severity=\"critical\"}:{alertname=\"ALERTID\", service=\"checkout\"}",
  "truncatedAlerts": 0
}`

// alertName is the alert name of request i of a run tagged run: letters
// and digits only, so that it survives chat-notation neutralisation and
// can be found again in the posts.
func alertName(run string, i int) string {
	return fmt.Sprintf("Bench%s%07d", run, i)
}

// payload returns the webhook for alert name.
func payload(name string) []byte {
	return bytes.ReplaceAll([]byte(payloadTemplate), []byte("ALERTID"), []byte(name))
}

// loadResult is what one load run measured.
type loadResult struct {
	Clients  int
	Requests int           // answered 202
	Failed   int           // any other answer or a transport error
	Elapsed  time.Duration // of the measured part
	P50, P99 time.Duration // latency of the 202 answers
	Max      time.Duration
	FirstErr string
	// ServerCPU is the CPU time (user+system) the server used during
	// the measured part, when loadSpec.CPU was given.
	ServerCPU time.Duration
}

// CPUPerRequest is the server's CPU time per accepted webhook.
func (r loadResult) CPUPerRequest() time.Duration {
	if r.Requests == 0 {
		return 0
	}
	return r.ServerCPU / time.Duration(r.Requests)
}

// PerSecond is the throughput of accepted webhooks.
func (r loadResult) PerSecond() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Requests) / r.Elapsed.Seconds()
}

// loadSpec says what to send: either for a duration, or a fixed count.
type loadSpec struct {
	URL      string // full webhook URL
	Run      string // tag making alert names distinct between runs
	Clients  int
	Duration time.Duration // send until it passes (when Count is 0)
	Warmup   time.Duration // sent first, not measured
	Count    int           // send exactly this many (then Duration is unused)
	// CPU, if set, returns the server's CPU time so far.
	CPU func() time.Duration
}

// newClient returns an HTTP client keeping one connection per load client.
func newClient(clients int) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns = clients * 2
	tr.MaxIdleConnsPerHost = clients * 2
	return &http.Client{Transport: tr, Timeout: 60 * time.Second}
}

// runLoad posts distinct Alertmanager webhooks from spec.Clients goroutines,
// each waiting for its answer before the next (a closed loop, as
// Alertmanager's notifiers do), and measures throughput and latency.
func runLoad(ctx context.Context, spec loadSpec) loadResult {
	client := newClient(spec.Clients)
	defer client.CloseIdleConnections()
	var next atomic.Int64
	if spec.Warmup > 0 {
		wctx, cancel := context.WithTimeout(ctx, spec.Warmup)
		drive(wctx, client, spec, &next, -1)
		cancel()
	}
	var (
		lat    []time.Duration
		failed int
		first  string
	)
	limit := int64(-1)
	if spec.Count > 0 {
		limit = next.Load() + int64(spec.Count)
	}
	mctx, cancel := ctx, context.CancelFunc(func() {})
	if spec.Count == 0 {
		mctx, cancel = context.WithTimeout(ctx, spec.Duration)
	}
	defer cancel()
	var cpu0 time.Duration
	if spec.CPU != nil {
		cpu0 = spec.CPU()
	}
	begin := time.Now()
	workers := drive(mctx, client, spec, &next, limit)
	elapsed := time.Since(begin)
	var cpu time.Duration
	if spec.CPU != nil {
		cpu = spec.CPU() - cpu0
	}
	for _, w := range workers {
		lat = append(lat, w.lat...)
		failed += w.failed
		if first == "" {
			first = w.firstErr
		}
	}
	res := loadResult{Clients: spec.Clients, Requests: len(lat), Failed: failed, Elapsed: elapsed, FirstErr: first, ServerCPU: cpu}
	if len(lat) > 0 {
		slices.Sort(lat)
		res.P50 = lat[len(lat)*50/100]
		res.P99 = lat[len(lat)*99/100]
		res.Max = lat[len(lat)-1]
	}
	return res
}

// worker is one load client's tally.
type worker struct {
	lat      []time.Duration
	failed   int
	firstErr string
}

// drive runs the clients until ctx is done or next reaches limit (-1: no
// limit) and returns their tallies.
func drive(ctx context.Context, client *http.Client, spec loadSpec, next *atomic.Int64, limit int64) []*worker {
	workers := make([]*worker, spec.Clients)
	var wg sync.WaitGroup
	for c := range workers {
		w := &worker{}
		workers[c] = w
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				i := next.Add(1) - 1
				if limit >= 0 && i >= limit {
					return
				}
				body := payload(alertName(spec.Run, int(i)))
				t0 := time.Now()
				code, err := post(ctx, client, spec.URL, body)
				d := time.Since(t0)
				switch {
				case ctx.Err() != nil:
					return
				case err == nil && code == http.StatusAccepted:
					w.lat = append(w.lat, d)
				default:
					w.failed++
					if w.firstErr == "" {
						w.firstErr = fmt.Sprintf("status %d, error %v", code, err)
					}
				}
			}
		}()
	}
	wg.Wait()
	return workers
}

// post sends one webhook and drains the answer.
func post(ctx context.Context, client *http.Client, url string, body []byte) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return resp.StatusCode, nil
}
