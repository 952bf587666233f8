package e2e

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// deployDir holds the deployment files these tests check.
const deployDir = "../deploy"

// relayMetrics are the metrics relay exports that the alerting rules and the
// dashboard may query, with their type: histograms may also be queried as
// _bucket, _sum and _count.
var relayMetrics = map[string]string{
	"relay_webhooks_received_total":           "counter",
	"relay_messages_enqueued_total":           "counter",
	"relay_messages_sent_total":               "counter",
	"relay_messages_retried_total":            "counter",
	"relay_messages_dead_lettered_total":      "counter",
	"relay_queue_depth":                       "gauge",
	"relay_queue_oldest_age_seconds":          "gauge",
	"relay_upstream_request_duration_seconds": "histogram",
	"relay_limiter_wait_seconds":              "histogram",
	"relay_upstream_rate_limited_total":       "counter",
	"relay_template_fallbacks_total":          "counter",
	"relay_coalesced_messages":                "histogram",
	"relay_storm_posts_total":                 "counter",
	"relay_upstream_operations_total":         "counter",
	"relay_config_last_reload_successful":     "gauge",
	"relay_build_info":                        "gauge",
}

// metricToken finds relay metric names, and Prometheus's up, in PromQL.
var metricToken = regexp.MustCompile(`\b(relay_[a-z0-9_]+|up)\b`)

// metricsIn returns the metric names expr queries, histogram suffixes
// removed, and the names relay does not export.
func metricsIn(expr string) (used, unknown []string) {
	for _, tok := range metricToken.FindAllString(expr, -1) {
		if tok == "up" {
			used = append(used, tok)
			continue
		}
		name := tok
		if _, ok := relayMetrics[name]; !ok {
			for _, suffix := range []string{"_bucket", "_sum", "_count"} {
				if base, cut := strings.CutSuffix(tok, suffix); cut && relayMetrics[base] == "histogram" {
					name = base
				}
			}
		}
		if _, ok := relayMetrics[name]; !ok {
			unknown = append(unknown, tok)
			continue
		}
		used = append(used, name)
	}
	return used, unknown
}

// yamlDocuments parses every document of a YAML file.
func yamlDocuments(t *testing.T, file string) []*yaml.Node {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	var docs []*yaml.Node
	for {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			return docs
		}
		if err != nil {
			t.Fatalf("parse %s: %v", file, err)
		}
		docs = append(docs, &n)
	}
}

// deployFiles lists the files under deploy/ whose names end in one of exts.
func deployFiles(t *testing.T, exts ...string) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(deployDir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && slices.Contains(exts, filepath.Ext(p)) {
			files = append(files, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no %v files under %s", exts, deployDir)
	}
	return files
}

func TestDeployYAMLFilesParse(t *testing.T) {
	t.Parallel()
	for _, f := range deployFiles(t, ".yaml", ".yml") {
		t.Run(f, func(t *testing.T) {
			t.Parallel()
			if docs := yamlDocuments(t, f); len(docs) == 0 {
				t.Errorf("%s has no YAML document", f)
			}
		})
	}
}

// ruleFile is a Prometheus rule file.
type ruleFile struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []struct {
			Alert       string            `yaml:"alert"`
			Expr        string            `yaml:"expr"`
			For         string            `yaml:"for"`
			Labels      map[string]string `yaml:"labels"`
			Annotations map[string]string `yaml:"annotations"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

func TestDeployAlertingRules(t *testing.T) {
	t.Parallel()
	var rf ruleFile
	if err := yamlDocuments(t, filepath.Join(deployDir, "prometheus", "relay-rules.yml"))[0].Decode(&rf); err != nil {
		t.Fatal(err)
	}
	var alerts []string
	for _, g := range rf.Groups {
		if g.Name == "" || len(g.Rules) == 0 {
			t.Errorf("group %q: want a name and rules", g.Name)
		}
		for _, r := range g.Rules {
			alerts = append(alerts, r.Alert)
			if r.Alert == "" || r.Expr == "" {
				t.Errorf("rule %q: want alert and expr", r.Alert)
			}
			if s := r.Labels["severity"]; s != "critical" && s != "warning" && s != "info" {
				t.Errorf("%s: severity %q, want critical, warning or info", r.Alert, s)
			}
			for _, a := range []string{"summary", "description", "runbook"} {
				if r.Annotations[a] == "" {
					t.Errorf("%s: no %s annotation", r.Alert, a)
				}
			}
			if r.For != "" {
				if _, err := time.ParseDuration(r.For); err != nil {
					t.Errorf("%s: for: %v", r.Alert, err)
				}
			}
			used, unknown := metricsIn(r.Expr)
			if len(used) == 0 {
				t.Errorf("%s: expr %q queries no relay metric nor up", r.Alert, r.Expr)
			}
			if len(unknown) > 0 {
				t.Errorf("%s: expr queries metrics relay does not export: %v", r.Alert, unknown)
			}
		}
	}
	for _, want := range []string{"RelayDown", "RelayQueueGrowing", "RelayQueueOldestMessage", "RelayDeadLetters",
		"RelayRateLimited", "RelayDeliveryFailing", "RelayConfigReloadFailed"} {
		if !slices.Contains(alerts, want) {
			t.Errorf("no %s alert; have %v", want, alerts)
		}
	}
}

// dashboardPanel is a Grafana panel; rows may nest panels.
type dashboardPanel struct {
	Type    string           `json:"type"`
	Title   string           `json:"title"`
	Panels  []dashboardPanel `json:"panels"`
	Targets []struct {
		Expr string `json:"expr"`
	} `json:"targets"`
}

func TestDeployDashboard(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile(filepath.Join(deployDir, "grafana", "relay-dashboard.json"))
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Title         string           `json:"title"`
		UID           string           `json:"uid"`
		SchemaVersion int              `json:"schemaVersion"`
		Panels        []dashboardPanel `json:"panels"`
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("parse dashboard: %v", err)
	}
	if d.Title == "" || d.UID == "" || d.SchemaVersion != 39 {
		t.Errorf("title %q, uid %q, schemaVersion %d; want a title, a uid and schema 39", d.Title, d.UID, d.SchemaVersion)
	}
	seen := map[string]bool{}
	var check func(p dashboardPanel)
	check = func(p dashboardPanel) {
		for _, sub := range p.Panels {
			check(sub)
		}
		if p.Type == "row" {
			return
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no targets", p.Title)
		}
		for _, tg := range p.Targets {
			used, unknown := metricsIn(tg.Expr)
			if len(used) == 0 {
				t.Errorf("panel %q: expr %q queries no relay metric", p.Title, tg.Expr)
			}
			if len(unknown) > 0 {
				t.Errorf("panel %q: expr queries metrics relay does not export: %v", p.Title, unknown)
			}
			for _, u := range used {
				seen[u] = true
			}
		}
	}
	for _, p := range d.Panels {
		check(p)
	}
	for name := range relayMetrics {
		if !seen[name] {
			t.Errorf("no panel shows %s", name)
		}
	}
}

func TestDeployDockerfile(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	// Instructions of the final stage, continuation lines joined.
	text := strings.ReplaceAll(string(b), "\\\n", " ")
	var all, final []string
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		all = append(all, line)
		if strings.HasPrefix(line, "FROM ") {
			final = nil
		}
		final = append(final, line)
	}
	has := func(lines []string, prefix, substr string) bool {
		return slices.ContainsFunc(lines, func(l string) bool {
			return strings.HasPrefix(l, prefix) && strings.Contains(l, substr)
		})
	}
	tests := []struct {
		name          string
		lines         []string
		prefix, value string
	}{
		{"static build", all, "RUN ", "CGO_ENABLED=0"},
		{"trimmed paths", all, "RUN ", "-trimpath"},
		{"version stamped", all, "RUN ", "-X main.version="},
		{"outbox on the volume", final, "ENV ", "RELAY_STORE=sqlite:///data/relay.db"},
		{"data volume", final, "VOLUME ", "/data"},
		{"port", final, "EXPOSE ", "8080"},
		{"OCI source label", final, "LABEL ", `org.opencontainers.image.source="${SOURCE}"`},
		{"OCI version label", final, "LABEL ", `org.opencontainers.image.version="${VERSION}"`},
		{"OCI revision label", final, "LABEL ", `org.opencontainers.image.revision="${REVISION}"`},
		{"version in the final stage", final, "ARG ", "VERSION"},
		{"revision in the final stage", final, "ARG ", "REVISION"},
		{"source in the final stage", final, "ARG ", "SOURCE"},
		{"source by default", all, "ARG ", "SOURCE=https://github.com/relayhq/relay"},
	}
	for _, tt := range tests {
		if !has(tt.lines, tt.prefix, tt.value) {
			t.Errorf("%s: no %s instruction with %q", tt.name, strings.TrimSpace(tt.prefix), tt.value)
		}
	}
	var user string
	for _, l := range final {
		if u, ok := strings.CutPrefix(l, "USER "); ok {
			user = strings.TrimSpace(u)
		}
	}
	if name, _, _ := strings.Cut(user, ":"); name == "" || name == "0" || name == "root" {
		t.Errorf("final stage USER %q, want a non-root user", user)
	}
}
