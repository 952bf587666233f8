package dispatcher

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// statsTimeout bounds the store query behind one scrape.
const statsTimeout = 5 * time.Second

// queueCollector reports the outbox's depth and oldest message per sender
// at scrape time.
type queueCollector struct {
	store  Store
	now    func() time.Time
	depth  *prometheus.Desc
	oldest *prometheus.Desc
}

func newQueueCollector(store Store, now func() time.Time) *queueCollector {
	return &queueCollector{
		store: store,
		now:   now,
		depth: prometheus.NewDesc("relay_queue_depth",
			"Messages queued for delivery (dead letters not included).", []string{"sender"}, nil),
		oldest: prometheus.NewDesc("relay_queue_oldest_age_seconds",
			"Age of the oldest queued message, 0 when none.", []string{"sender"}, nil),
	}
}

// Describe implements prometheus.Collector.
func (c *queueCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.depth
	ch <- c.oldest
}

// Collect implements prometheus.Collector.
func (c *queueCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), statsTimeout)
	defer cancel()
	stats, err := c.store.Stats(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.depth, err)
		return
	}
	now := c.now()
	for _, s := range stats {
		age := 0.0
		if !s.Oldest.IsZero() {
			age = max(now.Sub(s.Oldest).Seconds(), 0)
		}
		ch <- prometheus.MustNewConstMetric(c.depth, prometheus.GaugeValue, float64(s.Depth), s.Sender)
		ch <- prometheus.MustNewConstMetric(c.oldest, prometheus.GaugeValue, age, s.Sender)
	}
}
