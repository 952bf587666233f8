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
	store Store
	now   func() time.Time
	// known returns the senders that have had a lane; they are reported
	// at 0 when their queue is empty, so the series does not vanish.
	known  func() []string
	depth  *prometheus.Desc
	oldest *prometheus.Desc
}

func newQueueCollector(store Store, now func() time.Time) *queueCollector {
	return &queueCollector{
		known: func() []string { return nil },
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
	reported := make(map[string]bool, len(stats))
	for _, s := range stats {
		reported[s.Sender] = true
		age := 0.0
		if !s.Oldest.IsZero() {
			age = max(now.Sub(s.Oldest).Seconds(), 0)
		}
		ch <- prometheus.MustNewConstMetric(c.depth, prometheus.GaugeValue, float64(s.Depth), s.Sender)
		ch <- prometheus.MustNewConstMetric(c.oldest, prometheus.GaugeValue, age, s.Sender)
	}
	for _, sender := range c.known() {
		if !reported[sender] {
			ch <- prometheus.MustNewConstMetric(c.depth, prometheus.GaugeValue, 0, sender)
			ch <- prometheus.MustNewConstMetric(c.oldest, prometheus.GaugeValue, 0, sender)
		}
	}
}
