package dispatcher

import (
	"fmt"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/relayhq/relay/internal/delivery"
)

// metrics are the dispatcher's Prometheus metrics, by sender name.
type metrics struct {
	sent             *prometheus.CounterVec
	posts            *prometheus.CounterVec
	ops              *prometheus.CounterVec
	retried          *prometheus.CounterVec
	deadLettered     *prometheus.CounterVec
	upstreamDuration *prometheus.HistogramVec
	limiterWait      *prometheus.HistogramVec
	rateLimited      *prometheus.CounterVec
	coalesced        *prometheus.HistogramVec
	stormPosts       *prometheus.CounterVec
	storeRetries     *prometheus.CounterVec
	held             *prometheus.CounterVec

	mu        sync.Mutex
	seen      map[string]bool // senders whose label values exist
	followers map[string]bool // senders whose follow operations' label values exist
}

func newMetrics(reg prometheus.Registerer, queue prometheus.Collector) (*metrics, error) {
	sender := []string{"sender"}
	m := &metrics{
		sent: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "relay_messages_sent_total",
			Help: "Messages delivered, counting each message folded into a post.",
		}, sender),
		posts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "relay_posts_total",
			Help: "Upstream requests (posts, edits, tasks) by outcome: success, retryable, rate_limited, permanent.",
		}, []string{"sender", "outcome"}),
		ops: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "relay_upstream_operations_total",
			Help: "Upstream requests by operation (post, edit, reply, task, task_done) and outcome.",
		}, []string{"sender", "op", "outcome"}),
		retried: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "relay_messages_retried_total",
			Help: "Messages released to be tried again, by reason.",
		}, []string{"sender", "reason"}),
		deadLettered: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "relay_messages_dead_lettered_total",
			Help: "Messages moved to the dead letters, by reason.",
		}, []string{"sender", "reason"}),
		upstreamDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "relay_upstream_request_duration_seconds",
			Help:    "Duration of upstream post requests.",
			Buckets: prometheus.DefBuckets,
		}, sender),
		limiterWait: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "relay_limiter_wait_seconds",
			Help:    "How long a lane was told to wait before its next post (limits, pauses, backoff).",
			Buckets: []float64{0.1, 0.5, 1, 2, 5, 10, 30, 60, 300},
		}, sender),
		rateLimited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "relay_upstream_rate_limited_total",
			Help: "Upstream answers that said the rate limit was hit (HTTP 429, or the kind's own code).",
		}, sender),
		coalesced: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "relay_coalesced_messages",
			Help:    "Messages per upstream post.",
			Buckets: []float64{1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000},
		}, sender),
		stormPosts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "relay_storm_posts_total",
			Help: "Posts delivered in storm form: the messages' one-line forms under a heading that sums up the storm.",
		}, sender),
		storeRetries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "relay_settle_store_errors_total",
			Help: "Failed store calls recording a post's outcome (ack, retry, bury, pause); each is tried again.",
		}, sender),
		held: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "relay_lane_held_total",
			Help: "Times a lane was held because its messages name a sender the configuration no longer has.",
		}, sender),
		seen:      map[string]bool{},
		followers: map[string]bool{},
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.sent, m.posts, m.ops, m.retried, m.deadLettered,
		m.upstreamDuration, m.limiterWait, m.rateLimited, m.coalesced, m.stormPosts, m.storeRetries, m.held, queue} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register metrics: %w", err)
		}
	}
	return m, nil
}

// senders returns the senders initSender has seen.
func (m *metrics) senders() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]string, 0, len(m.seen))
	for s := range m.seen {
		out = append(out, s)
	}
	return out
}

// initSender creates the label values a sender will have at zero, so that
// rates and alerts see them before the first event.
func (m *metrics) initSender(sender string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.seen[sender] {
		return
	}
	m.seen[sender] = true
	m.sent.WithLabelValues(sender)
	for _, o := range outcomes {
		m.posts.WithLabelValues(sender, o)
		m.ops.WithLabelValues(sender, delivery.OpPost, o)
	}
	m.deadLettered.WithLabelValues(sender, "expired")
	m.rateLimited.WithLabelValues(sender)
	m.upstreamDuration.WithLabelValues(sender)
	m.limiterWait.WithLabelValues(sender)
	m.coalesced.WithLabelValues(sender)
	m.stormPosts.WithLabelValues(sender)
	m.storeRetries.WithLabelValues(sender)
}

// outcomes are the outcome label's values of an upstream request.
var outcomes = []string{outcomeSuccess, outcomeRetryable, outcomeRateLimited, outcomePermanent}

// initFollower creates, at zero, the label values of the operations a
// sender that follows groups performs.
func (m *metrics) initFollower(sender string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.followers[sender] {
		return
	}
	m.followers[sender] = true
	for _, op := range delivery.OpKinds {
		for _, o := range outcomes {
			m.ops.WithLabelValues(sender, op, o)
		}
	}
}
