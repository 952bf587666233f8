package handlers

import (
	"fmt"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the HTTP layer's metrics. Every label value is bounded: route
// patterns and configured route names, never raw paths.
type metrics struct {
	webhooks *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		webhooks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "relay_webhooks_received_total",
			Help: "Webhooks received, by source, route (or direct_<kind>, preview) and status code.",
		}, []string{"source", "route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "relay_http_request_duration_seconds",
			Help:    "Time to answer HTTP requests, by route pattern and status code.",
			Buckets: prometheus.DefBuckets,
		}, []string{"handler", "code"}),
	}
	for _, c := range []prometheus.Collector{m.webhooks, m.duration} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register http metrics: %w", err)
		}
	}
	return m, nil
}

// received counts one webhook.
func (m *metrics) received(source, route string, status int) {
	m.webhooks.WithLabelValues(source, route, strconv.Itoa(status)).Inc()
}
