package intake

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	enqueued   *prometheus.CounterVec
	duplicates *prometheus.CounterVec
	fallbacks  *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		enqueued: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "relay_messages_enqueued_total",
			Help: "Messages committed to the outbox, by sender.",
		}, []string{"sender"}),
		duplicates: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "relay_webhooks_duplicate_total",
			Help: "Webhooks recognised as duplicates (Alertmanager HA peers) and not enqueued again.",
		}, []string{"source"}),
		fallbacks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "relay_template_fallbacks_total",
			Help: "Messages rendered with the built-in template because the configured one failed.",
		}, []string{"template"}),
	}
	for _, c := range []prometheus.Collector{m.enqueued, m.duplicates, m.fallbacks} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	for _, s := range []string{"alertmanager", "grafana", "generic"} {
		m.duplicates.WithLabelValues(s)
	}
	return m, nil
}
