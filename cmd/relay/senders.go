package main

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/relayhq/relay/internal/config"
	"github.com/relayhq/relay/internal/delivery"
	"github.com/relayhq/relay/internal/dispatcher"
	"github.com/relayhq/relay/internal/secret"
	"github.com/relayhq/relay/internal/senders/chatmessenger"
	"github.com/relayhq/relay/internal/senders/chatwork"
	"github.com/relayhq/relay/internal/senders/console"
)

// senderSet resolves sender names for the dispatcher. A reload swaps the
// whole set at once.
type senderSet struct {
	scrub   *secret.Scrubber
	client  *http.Client
	console *console.Sender
	logger  *zap.Logger
	cur     atomic.Pointer[map[string]senderEntry]
}

type senderEntry struct {
	sender dispatcher.Sender
	policy dispatcher.Policy
}

func newSenderSet(out io.Writer, scrub *secret.Scrubber, logger *zap.Logger) *senderSet {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = 16
	t.ResponseHeaderTimeout = 30 * time.Second
	return &senderSet{
		scrub:   scrub,
		client:  &http.Client{Transport: t, Timeout: 60 * time.Second},
		console: console.New(scrub.Writer(out), logger),
		logger:  logger,
	}
}

// Lookup implements dispatcher.Senders.
func (s *senderSet) Lookup(name string) (dispatcher.Sender, dispatcher.Policy, bool) {
	m := s.cur.Load()
	if m == nil {
		return nil, dispatcher.Policy{}, false
	}
	e, ok := (*m)[name]
	return e.sender, e.policy, ok
}

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
	s.cur.Store(&m)
	return nil
}

func (s *senderSet) build(cfg *config.Config) (map[string]senderEntry, error) {
	m := make(map[string]senderEntry, len(cfg.Senders))
	for name, c := range cfg.Senders {
		e := senderEntry{policy: policyOf(c)}
		var err error
		switch {
		case cfg.DryRun || c.Kind == delivery.KindConsole:
			e.sender = s.console
		case c.Kind == delivery.KindChatwork:
			e.sender, err = chatwork.New(chatwork.Config{Name: name, APIURL: c.URL, Token: c.Token, Scrub: s.scrub}, s.client, s.logger.With(zap.String("sender", name)))
		case c.Kind == delivery.KindChatMessenger:
			e.sender, err = chatmessenger.New(chatmessenger.Config{Name: name, URL: c.URL, Token: c.Token, Scrub: s.scrub}, s.client, s.logger.With(zap.String("sender", name)))
		default:
			err = fmt.Errorf("unknown sender type %q", c.Kind)
		}
		if err != nil {
			return nil, fmt.Errorf("sender %q: %w", name, err)
		}
		m[name] = e
	}
	return m, nil
}

func policyOf(c *config.Sender) dispatcher.Policy {
	return dispatcher.Policy{
		Kind:      c.Kind,
		Room:      dispatcher.Limit{Count: c.RoomLimit.Count, Per: c.RoomLimit.Per},
		Token:     dispatcher.Limit{Count: c.TokenLimit.Count, Per: c.TokenLimit.Per},
		TokenKey:  c.TokenKey,
		Margin:    c.Margin,
		MaxChars:  c.MaxChars,
		Separator: c.Separator,
		Host:      upstreamHost(c),
	}
}

// upstreamHost is the host a sender posts to, the key of its per-host
// bound on posts in flight; "" for the console.
func upstreamHost(c *config.Sender) string {
	if c.Kind == delivery.KindConsole || c.URL == "" {
		return ""
	}
	u, err := url.Parse(c.URL)
	if err != nil {
		return ""
	}
	return u.Host
}
