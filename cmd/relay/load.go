package main

import (
	"context"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/relayhq/relay/internal/config"
	"github.com/relayhq/relay/internal/intake"
	"github.com/relayhq/relay/internal/senders"
	"github.com/relayhq/relay/internal/templates"
)

// snapshot is one consistent load of the routes file and the templates.
type snapshot struct {
	Config    *config.Config
	Templates *templates.Templates
}

func (s *snapshot) intake() *intake.Snapshot {
	return &intake.Snapshot{Config: s.Config, Templates: s.Templates}
}

// loader loads the routes file and templates named by the environment.
type loader struct {
	env    config.Env
	getenv func(string) string
	kinds  config.Kinds
}

// load reads, validates and builds everything a reload swaps in. Templates
// are parsed and checked here, so most mistakes surface before an alert
// needs them.
func (l *loader) load() (*snapshot, error) {
	var file *config.File
	if l.env.Config != "" {
		f, err := config.Load(l.env.Config, l.kinds, l.getenv, os.ReadFile)
		if err != nil {
			return nil, err
		}
		file = f
	}
	cfg, err := config.Build(l.env, file, l.kinds, senders.Env{Getenv: l.getenv, ReadFile: os.ReadFile})
	if err != nil {
		return nil, err
	}
	tmpl, err := templates.New(builtinTemplates(l.kinds), cfg.Templates...)
	if err != nil {
		return nil, err
	}
	if err := checkTargetTemplates(cfg, tmpl); err != nil {
		return nil, err
	}
	return &snapshot{Config: cfg, Templates: tmpl}, nil
}

// checkTargetTemplates fails when a target names a template that does not
// exist or that fails on every sample for the target's sender kind.
// Templates no target names are parsed only: helpers often expect other
// data than a notification.
func checkTargetTemplates(cfg *config.Config, tmpl *templates.Templates) error {
	for _, r := range cfg.Routes {
		for i, t := range r.Targets {
			if t.Template == "" {
				continue
			}
			if !tmpl.Has(t.Template) {
				where := "(no templates configured)"
				if len(cfg.Templates) > 0 {
					abs := make([]string, len(cfg.Templates))
					for j, p := range cfg.Templates {
						abs[j], _ = filepath.Abs(p)
					}
					where = strings.Join(abs, ", ")
				}
				return fmt.Errorf("route %q target %d: template %q not found in %s", r.Name, i+1, t.Template, where)
			}
			s, ok := cfg.Senders[t.Sender]
			if !ok {
				continue // Build has already refused this
			}
			if err := tmpl.Check(s.Kind.Notation(), s.Kind.Name(), t.Template); err != nil {
				return fmt.Errorf("route %q target %d: %w", r.Name, i+1, err)
			}
		}
	}
	return nil
}

// builtinTemplates are the kinds' default templates, in the order of the
// kinds' names.
func builtinTemplates(kinds config.Kinds) []fs.FS {
	var out []fs.FS
	for _, name := range slices.Sorted(maps.Keys(kinds)) {
		if t := kinds[name].Templates(); t != nil {
			out = append(out, t)
		}
	}
	return out
}

// reloader swaps in a new configuration on SIGHUP or POST /-/reload; a bad
// file is rejected, logged and counted, and the old configuration stays.
type reloader struct {
	loader   *loader
	pipeline *intake.Pipeline
	senders  *senderSet
	logger   *zap.Logger

	success   prometheus.Gauge
	timestamp prometheus.Gauge
	total     *prometheus.CounterVec
}

func newReloader(l *loader, p *intake.Pipeline, s *senderSet, logger *zap.Logger, reg prometheus.Registerer) (*reloader, error) {
	r := &reloader{loader: l, pipeline: p, senders: s, logger: logger,
		success: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "relay_config_last_reload_successful",
			Help: "Whether the last configuration reload attempt was successful.",
		}),
		timestamp: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "relay_config_last_reload_success_timestamp_seconds",
			Help: "Timestamp of the last successful configuration reload.",
		}),
		total: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "relay_config_reloads_total",
			Help: "Configuration reload attempts by result.",
		}, []string{"result"}),
	}
	for _, c := range []prometheus.Collector{r.success, r.timestamp, r.total} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	r.success.Set(1)
	r.timestamp.SetToCurrentTime()
	r.total.WithLabelValues("success")
	r.total.WithLabelValues("failure")
	return r, nil
}

func (r *reloader) reload(_ context.Context) error {
	snap, err := r.loader.load()
	if err == nil {
		err = r.senders.check(snap.Config)
	}
	if err != nil {
		r.success.Set(0)
		r.total.WithLabelValues("failure").Inc()
		r.logger.Error("reload rejected; keeping the running configuration", zap.Error(err))
		return fmt.Errorf("reload rejected: %w", err)
	}
	if err := r.senders.swap(snap.Config); err != nil {
		r.success.Set(0)
		r.total.WithLabelValues("failure").Inc()
		return fmt.Errorf("reload rejected: %w", err)
	}
	r.pipeline.Swap(snap.intake())
	r.senders.checkCredentials(context.Background())
	r.success.Set(1)
	r.timestamp.Set(float64(time.Now().Unix()))
	r.total.WithLabelValues("success").Inc()
	r.logger.Info("configuration reloaded", zap.Int("routes", len(snap.Config.Routes)),
		zap.Int("senders", len(snap.Config.Senders)))
	return nil
}
