package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/relayhq/relay/internal/config"
	"github.com/relayhq/relay/internal/delivery"
	"github.com/relayhq/relay/internal/dispatcher"
	"github.com/relayhq/relay/internal/secret"
	"github.com/relayhq/relay/internal/senders"
	"github.com/relayhq/relay/internal/senders/console"
)

// senderSet resolves sender names for the dispatcher. A reload swaps the
// whole set at once.
type senderSet struct {
	scrub  *secret.Scrubber
	client *http.Client
	logger *zap.Logger
	// printer prints messages: the console kind's, and every sender's in
	// dry-run.
	printer *console.Sender
	cur     atomic.Pointer[senderMap]
}

type senderMap struct {
	cfg     *config.Config
	entries map[string]senderEntry
}

type senderEntry struct {
	sender dispatcher.Sender
	policy dispatcher.Policy
}

func newSenderSet(out io.Writer, scrub *secret.Scrubber, logger *zap.Logger) *senderSet {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = 16
	t.ResponseHeaderTimeout = 30 * time.Second
	s := &senderSet{
		scrub:  scrub,
		client: &http.Client{Transport: t, Timeout: 60 * time.Second},
		logger: logger,
	}
	s.printer = console.New(scrub.Writer(out), logger, s.describe)
	return s
}

// describe says where a destination is, in its kind's words if it has them.
func (s *senderSet) describe(d delivery.Destination) string {
	if m := s.cur.Load(); m != nil {
		if c, ok := m.cfg.Senders[d.Sender]; ok {
			if k, ok := c.Kind.(senders.Describer); ok {
				return k.Describe(d.Address)
			}
		}
	}
	return d.Address
}

// Lookup implements dispatcher.Senders.
func (s *senderSet) Lookup(name string) (dispatcher.Sender, dispatcher.Policy, bool) {
	m := s.cur.Load()
	if m == nil {
		return nil, dispatcher.Policy{}, false
	}
	e, ok := m.entries[name]
	return e.sender, e.policy, ok
}

// readier is a poster that can tell whether the upstream takes its
// credentials (chatwork: GET /me, answered once and cached).
type readier interface {
	Ready(ctx context.Context) error
}

// ready checks the credentials of every sender that can tell, for
// /readyz: an error names each sender whose token the upstream refuses.
func (s *senderSet) ready(ctx context.Context) error {
	m := s.cur.Load()
	if m == nil {
		return nil
	}
	var errs []error
	for _, name := range slices.Sorted(maps.Keys(m.entries)) {
		if r, ok := m.entries[name].sender.(readier); ok {
			if err := r.Ready(ctx); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// checkCredentials runs ready in the background, as at start and after a
// reload, and logs a refused token at once rather than at the first post.
func (s *senderSet) checkCredentials(ctx context.Context) {
	go func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), credentialsTimeout)
		defer cancel()
		if err := s.ready(ctx); err != nil {
			s.logger.Error("an upstream refuses a sender's credentials; /readyz fails until they are fixed", zap.Error(err))
		}
	}()
}

// credentialsTimeout bounds the credentials check at start and reload.
const credentialsTimeout = 10 * time.Second

func (s *senderSet) check(cfg *config.Config) error {
	_, err := s.build(cfg)
	return err
}

func (s *senderSet) swap(cfg *config.Config) error {
	m, err := s.build(cfg)
	if err != nil {
		return err
	}
	// The scrubber learns the new credentials before any sender uses them.
	s.scrub.Set(cfg.Secrets()...)
	s.cur.Store(&senderMap{cfg: cfg, entries: m})
	return nil
}

func (s *senderSet) build(cfg *config.Config) (map[string]senderEntry, error) {
	m := make(map[string]senderEntry, len(cfg.Senders))
	for name, c := range cfg.Senders {
		e := senderEntry{policy: policyOf(c)}
		if cfg.DryRun {
			e.sender = s.printer
		} else {
			p, err := c.Kind.New(c, senders.Runtime{Client: s.client, Logger: s.logger.With(zap.String("sender", name)), Scrub: s.scrub})
			if err != nil {
				return nil, fmt.Errorf("sender %q: %w", name, err)
			}
			e.sender = p
		}
		m[name] = e
	}
	return m, nil
}

// policyOf is how the dispatcher paces and folds c's posts.
func policyOf(c *senders.Config) dispatcher.Policy {
	p := dispatcher.Policy{
		Scope:          c.Scope,
		Destination:    dispatcher.Limit{Count: c.Destination.Count, Per: c.Destination.Per},
		Token:          dispatcher.Limit{Count: c.Token.Count, Per: c.Token.Per},
		TokenKey:       c.TokenKey,
		Margin:         c.Margin,
		MaxChars:       c.MaxChars,
		Separator:      c.Separator,
		Host:           c.Host,
		RateLimitPause: c.RateLimitPause,
		Headed:         c.Kind.Notation().Headed,
	}
	if !c.Fold {
		p.MaxChars = 0 // a post carries its head message only
	}
	return p
}
