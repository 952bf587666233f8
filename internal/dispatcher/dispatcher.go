// Package dispatcher delivers what the outbox holds. It runs one FIFO
// worker per lane (a destination), claims the lane's next post from the
// store with the room and token limits taken atomically, folds queued
// messages into one post when the limiter would make the lane wait, sends
// it and settles the outcome: done, retried with backoff, paused after a
// 429, or dead-lettered.
package dispatcher

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/relayhq/relay/internal/delivery"
	"github.com/relayhq/relay/internal/outbox"
)

// Sender posts one message. Senders classify failures as *delivery.Error
// and never retry or sleep.
type Sender interface {
	Send(ctx context.Context, dest delivery.Destination, body string) (delivery.Receipt, error)
}

// Limit is "Count per Per"; zero means no limit.
type Limit struct {
	Count int
	Per   time.Duration
}

// Policy is how a sender is paced and how its messages are folded.
type Policy struct {
	// Scope names the destination limits: a lane's destination limiter key
	// is Scope+"/"+its address (a kind's "kind/room/42": the limit is the
	// room's, whatever the sender). "" means the lanes have no
	// destination limit.
	Scope string
	// Destination limits posts per destination (a room).
	Destination Limit
	// Token limits requests per credential, keyed by TokenKey.
	Token Limit
	// TokenKey is the limiter key of the sender's credential.
	TokenKey string
	// Margin is added to every limit's window.
	Margin time.Duration
	// MaxChars bounds a folded body, as delivery.Len counts it; 0 means
	// that a post carries one message.
	MaxChars int
	// Separator goes between folded messages.
	Separator string
	// Host is the upstream host the sender posts to ("" for none); its
	// posts in flight are bounded by Options.HostConcurrency over every
	// sender that posts there.
	Host string
	// Concurrency bounds the sender's posts in flight; 0 means
	// Options.Concurrency.
	Concurrency int
	// RateLimitPause is how long a 429 that did not say how long shuts its
	// key; 0 means the retry backoff, growing with each such 429.
	RateLimitPause time.Duration
	// SendTimeout bounds one upstream request; 0 means Options.SendTimeout.
	// It should fit the room's pace: a room allowed 10 posts per 10 s gains
	// nothing from a request that may take longer than the window.
	SendTimeout time.Duration
	// Headed writes a storm post: its heading, then its body (the
	// messages' one-line forms), in the kind's notation; nil puts the
	// heading on a line of its own.
	Headed func(heading, body string) string
}

// Senders resolves a destination's sender name. It is consulted for every
// post, so a config reload takes effect at once.
type Senders interface {
	Lookup(name string) (Sender, Policy, bool)
}

// Store is the part of outbox.Store the dispatcher uses.
type Store interface {
	Lanes(ctx context.Context) ([]string, error)
	Claim(ctx context.Context, req outbox.ClaimRequest) (outbox.Claim, error)
	Ack(ctx context.Context, ids []int64) error
	Head(ctx context.Context, lane string) (delivery.Message, bool, error)
	GroupStates(ctx context.Context, lane string, groups []string) (map[string]string, error)
	Progress(ctx context.Context, p outbox.Progress) error
	Retry(ctx context.Context, ids []int64, at time.Time, countAttempt bool, reason, answer string) error
	Bury(ctx context.Context, ids []int64, reason, answer string) error
	Renew(ctx context.Context, ids []int64, lease time.Duration) error
	Pause(ctx context.Context, key string, until time.Time) error
	Stats(ctx context.Context) ([]outbox.Stat, error)
	Wake() <-chan struct{}
}

// Options tune a Dispatcher; zero fields take the defaults named.
type Options struct {
	// Lease is how long claimed messages are held without a renewal; a
	// post in flight renews it every Lease/3. A replica that dies holding a
	// post frees its lane when the lease ends. Default 6s.
	Lease time.Duration
	// MaxAge is how old a message may get before it is buried as
	// "expired" instead of sent. Default 24h.
	MaxAge time.Duration
	// MaxAttempts buries a message after that many retryable failures;
	// 0 means no limit (MaxAge bounds retries).
	MaxAttempts int
	// BackoffBase and BackoffMax bound the exponential backoff between
	// retries. Defaults 1s and 5m.
	BackoffBase time.Duration
	BackoffMax  time.Duration
	// SendTimeout bounds one upstream request when the policy does not.
	// Default 10s.
	SendTimeout time.Duration
	// PollInterval is how often the lanes are listed besides Store.Wake.
	// Default 2s.
	PollInterval time.Duration
	// Concurrency is the most posts in flight of one sender, unless its
	// policy says otherwise. Default 64.
	Concurrency int
	// HostConcurrency is the most posts in flight to one upstream host,
	// over every sender. Default 64.
	HostConcurrency int
	// SettleTimeout bounds one store call that records a post's outcome,
	// and how long such calls are retried after a stop. Default 5s.
	SettleTimeout time.Duration
	// SettleBackoffBase and SettleBackoffMax bound the backoff between
	// tries of a store call that records an outcome. Defaults 50ms and 2s:
	// far below the lease, so that the outcome is written before it ends.
	SettleBackoffBase time.Duration
	SettleBackoffMax  time.Duration
	// Clock tells the time and makes the timers lanes wait on; default
	// the real clock.
	Clock Clock
	// Rand returns a number in [0, 1) for jitter; default math/rand/v2.
	// Lanes call it concurrently.
	Rand func() float64
}

func (o Options) withDefaults() (Options, error) {
	if o.Lease < 0 || o.MaxAge < 0 || o.MaxAttempts < 0 || o.BackoffBase < 0 || o.BackoffMax < 0 ||
		o.SendTimeout < 0 || o.SettleTimeout < 0 || o.SettleBackoffBase < 0 || o.SettleBackoffMax < 0 || o.PollInterval < 0 || o.Concurrency < 0 || o.HostConcurrency < 0 {
		return o, errors.New("options must not be negative")
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&o.Lease, 6*time.Second)
	def(&o.MaxAge, 24*time.Hour)
	def(&o.BackoffBase, time.Second)
	def(&o.BackoffMax, 5*time.Minute)
	def(&o.SendTimeout, 10*time.Second)
	def(&o.PollInterval, 2*time.Second)
	def(&o.SettleTimeout, 5*time.Second)
	def(&o.SettleBackoffBase, 50*time.Millisecond)
	def(&o.SettleBackoffMax, 2*time.Second)
	if o.Concurrency == 0 {
		o.Concurrency = 64
	}
	if o.HostConcurrency == 0 {
		o.HostConcurrency = 64
	}
	if o.Clock == nil {
		o.Clock = realClock{}
	}
	if o.Rand == nil {
		o.Rand = rand.Float64
	}
	if o.BackoffMax < o.BackoffBase {
		return o, fmt.Errorf("backoff max %v is below backoff base %v", o.BackoffMax, o.BackoffBase)
	}
	if o.Lease < 3*time.Millisecond {
		return o, fmt.Errorf("lease %v is too short to renew", o.Lease)
	}
	return o, nil
}

// Dispatcher delivers the outbox's messages; build it with New and start
// it with Run.
type Dispatcher struct {
	store   Store
	senders Senders
	opts    Options
	logger  *zap.Logger
	metrics *metrics
	pools   pools // posts in flight per sender and per host
	wake    *broadcast
}

// New returns a Dispatcher. Its metrics are registered on reg.
func New(store Store, senders Senders, opts Options, logger *zap.Logger, reg prometheus.Registerer) (*Dispatcher, error) {
	if store == nil || senders == nil {
		return nil, errors.New("dispatcher: store and senders are required")
	}
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("dispatcher: %w", err)
	}
	if logger == nil {
		logger = zap.NewNop()
	}
	qc := newQueueCollector(store, opts.Clock.Now)
	m, err := newMetrics(reg, qc)
	if err != nil {
		return nil, fmt.Errorf("dispatcher: %w", err)
	}
	qc.known = m.senders
	return &Dispatcher{
		store:   store,
		senders: senders,
		opts:    opts,
		logger:  logger,
		metrics: m,
		wake:    newBroadcast(),
	}, nil
}
