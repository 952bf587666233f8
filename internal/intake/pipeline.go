package intake

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/relayhq/relay/internal/alert"
	"github.com/relayhq/relay/internal/auth"
	"github.com/relayhq/relay/internal/config"
	"github.com/relayhq/relay/internal/delivery"
	"github.com/relayhq/relay/internal/outbox"
	"github.com/relayhq/relay/internal/senders"
	"github.com/relayhq/relay/internal/templates"
)

// Store is the part of the outbox the pipeline writes to.
type Store interface {
	Enqueue(ctx context.Context, b outbox.Batch) (outbox.EnqueueResult, error)
}

// Renderer renders a message in a sender kind's notation, split to fit
// maxLen.
type Renderer interface {
	// RenderPreparedParts renders the message (see
	// templates.Templates.RenderParts) from data templates.Prepare made.
	RenderPreparedParts(p *templates.Prepared, name string, maxLen int) ([]string, error)
	// RenderPreparedLine renders the message's one-line form (see
	// templates.Templates.RenderLine).
	RenderPreparedLine(p *templates.Prepared, name string) (string, error)
	// Has reports whether a template of that name was loaded.
	Has(name string) bool
}

// Snapshot is the configuration and templates the pipeline works with. A
// reload builds a new one and swaps it in whole, so a request sees either
// the old or the new configuration, never a mix.
type Snapshot struct {
	Config    *config.Config
	Templates Renderer
}

// Pipeline decodes, routes, renders and enqueues webhooks.
type Pipeline struct {
	store   Store
	snap    atomic.Pointer[Snapshot]
	logger  *zap.Logger
	metrics *metrics
	now     func() time.Time
}

// New returns a pipeline that enqueues into store using snap.
func New(store Store, snap *Snapshot, logger *zap.Logger, reg prometheus.Registerer) (*Pipeline, error) {
	m, err := newMetrics(reg)
	if err != nil {
		return nil, err
	}
	p := &Pipeline{store: store, logger: logger, metrics: m, now: time.Now}
	p.snap.Store(snap)
	return p, nil
}

// Swap makes snap the configuration for every request from now on.
func (p *Pipeline) Swap(snap *Snapshot) { p.snap.Store(snap) }

// Snapshot returns the configuration in use.
func (p *Pipeline) Snapshot() *Snapshot { return p.snap.Load() }

// Auth returns the inbound auth that applies to route: the route's own, or
// the global one. An empty route means a direct target (global auth).
func (p *Pipeline) Auth(route string) (auth.Config, error) {
	cfg := p.snap.Load().Config
	if route == "" {
		return cfg.Auth, nil
	}
	r, ok := cfg.Routes[route]
	if !ok {
		return auth.Config{}, Errorf(NotFound, "unknown route %q", route)
	}
	if r.Auth != nil {
		return *r.Auth, nil
	}
	return cfg.Auth, nil
}

// Accept renders the webhook for every target of its route and commits the
// messages to the outbox. It returns only after they are durable.
func (p *Pipeline) Accept(ctx context.Context, req Request) (Result, error) {
	msgs, d, routeKey, err := p.render(req)
	if err != nil {
		return Result{}, err
	}
	id := newID()
	if len(msgs) == 0 {
		p.logger.Debug("no target selected any alert", zap.String("id", id), zap.String("route", routeKey))
		return Result{ID: id}, nil
	}
	now := p.now()
	batch := outbox.Batch{NotificationID: id, DedupKey: d.DedupKey(dedupScope(req, routeKey, msgs))}
	for _, m := range msgs {
		batch.Messages = append(batch.Messages, delivery.Message{
			Dest: m.Destination, Body: m.Body, Line: m.Line, Tally: m.Tally, NotificationID: id,
			Source: req.Source, Route: routeKey, Group: d.GroupKey, CreatedAt: now,
			Follow: m.Follow, Solo: m.Solo,
		})
	}
	res, err := p.store.Enqueue(ctx, batch)
	if err != nil {
		if errors.Is(err, outbox.ErrFull) {
			return Result{}, &Error{Code: Unavailable, Msg: "the outbox is full; retry later", Err: err}
		}
		return Result{}, &Error{Code: Unavailable, Msg: "the outbox cannot store the messages; retry later", Err: err}
	}
	if res.Duplicate {
		p.metrics.duplicates.WithLabelValues(req.Source).Inc()
		return Result{ID: res.NotificationID, Messages: 0, Duplicate: true}, nil
	}
	for _, m := range batch.Messages {
		p.metrics.enqueued.WithLabelValues(m.Dest.Sender).Inc()
	}
	return Result{ID: res.NotificationID, Messages: len(batch.Messages)}, nil
}

// dedupScope is what a duplicate must share besides its payload: the route,
// and for a direct target its destination, since every direct target of a
// sender has the same route key.
func dedupScope(req Request, routeKey string, msgs []Rendered) string {
	if req.Direct == nil {
		return routeKey
	}
	return routeKey + " " + msgs[0].Destination.Lane()
}

// Preview renders the webhook like Accept and returns the messages without
// enqueuing anything.
func (p *Pipeline) Preview(_ context.Context, req Request) ([]Rendered, error) {
	msgs, _, _, err := p.render(req)
	return msgs, err
}

// render resolves the request's targets, decodes the body and renders one
// or more messages per target.
func (p *Pipeline) render(req Request) ([]Rendered, *alert.Data, string, error) {
	snap := p.snap.Load()
	targets, routeKey, err := resolve(snap.Config, snap.Templates, req)
	if err != nil {
		return nil, nil, "", err
	}
	d, err := alert.Decode(req.Source, req.ContentType, req.Header, req.Body)
	if err != nil {
		return nil, nil, "", decodeError(err)
	}
	var out []Rendered
	for _, t := range targets {
		rs, err := p.renderTarget(snap, t, d)
		if err != nil {
			return nil, nil, "", err
		}
		out = append(out, rs...)
	}
	return out, d, routeKey, nil
}

// resolve returns the targets of the request and the key that names its
// route in logs, metrics and the dedup key.
func resolve(cfg *config.Config, templates Renderer, req Request) ([]*config.Target, string, error) {
	if req.Direct != nil {
		dt := req.Direct
		t, err := cfg.DirectTarget(dt.Kind, dt.Dest, dt.Query, dt.Template)
		var de *senders.DestinationError
		switch {
		case errors.As(err, &de):
			return nil, "", &Error{Code: Invalid, Msg: err.Error()}
		case err != nil:
			return nil, "", &Error{Code: NotFound, Msg: err.Error()}
		}
		// The name comes from the client (?template=): one that does not
		// exist is refused, never counted or logged under its name.
		if dt.Template != "" && !templates.Has(dt.Template) {
			return nil, "", Errorf(Invalid, "unknown template %.64q: name one of the templates relay loaded, or leave template out for the default", dt.Template)
		}
		return []*config.Target{t}, "direct:" + dt.Kind, nil
	}
	r, ok := cfg.Routes[req.Route]
	if !ok {
		return nil, "", Errorf(NotFound, "unknown route %q", req.Route)
	}
	return r.Targets, r.Name, nil
}

func (p *Pipeline) renderTarget(snap *Snapshot, t *config.Target, d *alert.Data) ([]Rendered, error) {
	sd := t.Select(d)
	if sd == nil {
		return nil, nil
	}
	s, ok := snap.Config.Senders[t.Sender]
	if !ok {
		return nil, &Error{Code: Internal, Msg: fmt.Sprintf("target names unknown sender %q", t.Sender)}
	}
	address, prefix := t.Dest.Resolve(sd)
	dest := delivery.Destination{Sender: t.Sender, Address: address}
	notation := s.Kind.Notation()
	maxLen := 0
	if s.MaxChars > 0 {
		maxLen = max(s.MaxChars-delivery.Len(prefix), 1)
	}
	name := t.Template
	// The message and its line are rendered from one prepared copy.
	prepared := templates.Prepare(notation, sd)
	parts, err := snap.Templates.RenderPreparedParts(prepared, name, maxLen)
	fellBack, why := false, ""
	if err != nil && name != "" {
		p.logger.Warn("template failed; falling back to the built-in default",
			zap.String("template", name), zap.String("sender", t.Sender), zap.Error(err))
		p.metrics.fallbacks.WithLabelValues(name).Inc()
		fellBack, why = true, err.Error()
		name = ""
		parts, err = snap.Templates.RenderPreparedParts(prepared, "", maxLen)
	}
	if err != nil {
		// The built-in template failed too: a bug, but the alert is not
		// lost; send a bare summary that cannot fail.
		p.logger.Error("built-in template failed; sending a bare summary", zap.Error(err))
		p.metrics.fallbacks.WithLabelValues("default").Inc()
		fellBack, why = true, err.Error()
		summary := bare(sd)
		if maxLen > 0 {
			summary = delivery.Truncate(summary, maxLen)
		}
		parts = []string{notation.Final(summary, true)}
	}
	line := p.renderLine(snap, prepared, name, sd)
	tally := tallyOf(notation, sd)
	// RenderPreparedParts and RenderPreparedLine made their text final at the output
	// boundary (a kind disarms the mentions a template joined): only the
	// target's own mentions, the prefix, may notify anyone; a storm post
	// carries none.
	out := make([]Rendered, 0, len(parts))
	follows, _ := t.Dest.(senders.Follows)
	now := p.now()
	for i, body := range parts {
		r := Rendered{Destination: dest, Template: templateName(name), Body: prefix + body,
			Line: line, Tally: tally, Fallback: fellBack, Error: why}
		if follows != nil && sd.GroupKey != "" {
			r.Follow, r.Solo = follows.Follow(sd, i, len(parts), now)
		}
		out = append(out, r)
	}
	return out, nil
}

// renderLine renders the one-line form of sd (prepared from it) for the
// template name: its .line template, or the built-in one of the
// notation; a line that fails is replaced like a message that fails
// (counted, logged), by the built-in line, then by the first line of the
// bare summary.
func (p *Pipeline) renderLine(snap *Snapshot, prepared *templates.Prepared, name string, sd *alert.Data) string {
	line, err := snap.Templates.RenderPreparedLine(prepared, name)
	if err != nil && name != "" {
		p.logger.Warn("line template failed; falling back to the built-in line",
			zap.String("template", name+templates.LineSuffix), zap.Error(err))
		p.metrics.fallbacks.WithLabelValues(name).Inc()
		line, err = snap.Templates.RenderPreparedLine(prepared, "")
	}
	if err != nil {
		p.logger.Error("built-in line template failed; using the bare summary", zap.Error(err))
		p.metrics.fallbacks.WithLabelValues("default").Inc()
		first, _, _ := strings.Cut(bare(sd), "\n")
		line = prepared.Notation().Final(first, false)
	}
	return line
}

// tallyOf counts the alerts of d by status, name and severity, the names
// and severities neutralised as the notation says (they reach the
// heading of a storm post).
func tallyOf(n templates.Notation, d *alert.Data) []delivery.Count {
	neutral := func(s string) string { return s }
	if n.Neutralize != nil {
		neutral = n.Neutralize
	}
	var out []delivery.Count
	index := map[delivery.Count]int{}
	for _, a := range d.Alerts {
		k := delivery.Count{Status: neutral(a.Status), Name: neutral(a.Labels["alertname"]), Severity: neutral(a.Labels["severity"])}
		if i, ok := index[k]; ok {
			out[i].N++
			continue
		}
		index[k] = len(out)
		k.N = 1
		out = append(out, k)
	}
	return out
}

func templateName(n string) string {
	if n == "" {
		return "default"
	}
	return n
}

// bare is the message of last resort: status and alert names, plain text.
func bare(d *alert.Data) string {
	var b strings.Builder
	fmt.Fprintf(&b, "[%s] %s alert(s)", strings.ToUpper(d.Status), d.Source)
	for _, a := range d.Alerts {
		fmt.Fprintf(&b, "\n- %s %s", a.Status, a.Labels.SortedPairs().String())
	}
	return b.String()
}

func decodeError(err error) error {
	var de *alert.DecodeError
	var me *alert.MediaTypeError
	switch {
	case errors.As(err, &me):
		return &Error{Code: Unsupported, Msg: me.Error()}
	case errors.Is(err, alert.ErrUnknownSource):
		return &Error{Code: NotFound, Msg: err.Error()}
	case errors.As(err, &de):
		return &Error{Code: Invalid, Msg: de.Error()}
	}
	return &Error{Code: Invalid, Msg: err.Error()}
}

// newID returns a random notification id.
func newID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
