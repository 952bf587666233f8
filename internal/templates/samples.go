package templates

import (
	"time"

	"github.com/relayhq/relay/internal/alert"
)

// Samples returns one Data of each payload kind the decoders produce, as
// realistic as a short literal allows. Check renders custom templates
// against them, and `relay check-config` can show them rendered.
func Samples() []*alert.Data {
	start := time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)
	end := start.Add(15 * time.Minute)
	am := &alert.Data{
		Source: alert.SourceAlertmanager, Kind: alert.KindAlertmanager,
		Receiver: "ops", Status: alert.StatusFiring,
		NotificationReason: "first notification",
		GroupKey:           `{}:{alertname="HighErrorRate"}`,
		ExternalURL:        "http://alertmanager.example.com",
		GroupLabels:        alert.KV{"alertname": "HighErrorRate"},
		RouteLabels:        alert.KV{"team": "api"},
		Alerts: alert.Alerts{
			{
				Status:      alert.StatusFiring,
				Labels:      alert.KV{"alertname": "HighErrorRate", "severity": "critical", "job": "api", "instance": "web-1:9090"},
				Annotations: alert.KV{"summary": "Error rate above 5% on web-1", "description": "5xx ratio is 7.2% over the last 5 minutes.", "runbook_url": "https://runbooks.example.com/HighErrorRate"},
				StartsAt:    start, GeneratorURL: "http://prometheus.example.com/graph?g0.expr=rate",
				Fingerprint: "a1b2c3d4e5f60718",
			},
			{
				Status:      alert.StatusResolved,
				Labels:      alert.KV{"alertname": "HighErrorRate", "severity": "critical", "job": "api", "instance": "web-2:9090"},
				Annotations: alert.KV{"summary": "Error rate above 5% on web-2"},
				StartsAt:    start, EndsAt: end, GeneratorURL: "http://prometheus.example.com/graph?g0.expr=rate",
				Fingerprint: "b1b2c3d4e5f60718",
			},
		},
	}
	am.CommonLabels = alert.KV{"alertname": "HighErrorRate", "severity": "critical", "job": "api"}
	am.CommonAnnotations = alert.KV{}

	unified := &alert.Data{
		Source: alert.SourceGrafana, Kind: alert.KindGrafanaUnified,
		Receiver: "ops", Status: alert.StatusFiring, OrgID: 1,
		ExternalURL: "https://grafana.example.com/",
		Title:       "[FIRING:1] DiskFull (prod)",
		Message:     "**Firing**\n\nValue: B=93.4\nLabels:\n - alertname = DiskFull\n",
		GroupLabels: alert.KV{"alertname": "DiskFull"},
		Alerts: alert.Alerts{{
			Status:       alert.StatusFiring,
			Labels:       alert.KV{"alertname": "DiskFull", "grafana_folder": "prod", "instance": "db-1"},
			Annotations:  alert.KV{"summary": "Disk / is 93% full"},
			StartsAt:     start,
			GeneratorURL: "https://grafana.example.com/alerting/grafana/abc/view",
			Fingerprint:  "c1c2c3c4c5c6c7c8",
			Values:       map[string]float64{"B": 93.4},
			ValueString:  "[ var='B' labels={instance=db-1} value=93.4 ]",
			DashboardURL: "https://grafana.example.com/d/disk",
			PanelURL:     "https://grafana.example.com/d/disk?viewPanel=2",
			SilenceURL:   "https://grafana.example.com/alerting/silence/new?alertmanager=grafana",
		}},
	}
	unified.CommonLabels = alert.KV{"alertname": "DiskFull", "grafana_folder": "prod", "instance": "db-1"}

	legacy := &alert.Data{
		Source: alert.SourceGrafana, Kind: alert.KindGrafanaLegacy,
		Status: alert.StatusFiring, Title: "[Alerting] CPU high", Message: "CPU above 90% for 5 minutes",
		Alerts: alert.Alerts{{
			Status:       alert.StatusFiring,
			Labels:       alert.KV{"alertname": "CPU high", "host": "app-1"},
			ValueString:  "cpu{host=app-1} = 97.5",
			GeneratorURL: "https://grafana.example.com/d/cpu?panelId=1",
			ImageURL:     "https://grafana.example.com/render/cpu.png",
		}},
	}

	json := &alert.Data{
		Source: alert.SourceGeneric, Kind: alert.KindJSON,
		Payload: map[string]any{"title": "Backup failed", "status": "error", "host": "db-1",
			"description": "nightly backup exited with code 2", "url": "https://backup.example.com/runs/42"},
	}
	text := &alert.Data{Source: alert.SourceGeneric, Kind: alert.KindText, Text: "Deploy of api v1.2.3 finished."}
	gitlab := &alert.Data{
		Source: alert.SourceGeneric, Kind: alert.KindGitLabPipeline,
		Payload: map[string]any{
			"object_kind":       "pipeline",
			"object_attributes": map[string]any{"id": float64(123), "ref": "main", "status": "failed", "url": "https://gitlab.example.com/group/project/-/pipelines/123"},
			"project":           map[string]any{"path_with_namespace": "group/project", "web_url": "https://gitlab.example.com/group/project"},
			"user":              map[string]any{"username": "alice", "name": "Alice"},
			"commit":            map[string]any{"message": "Fix the flaky test\n\nLonger text."},
			"builds":            []any{map[string]any{"name": "unit", "stage": "test", "status": "failed"}, map[string]any{"name": "lint", "stage": "test", "status": "success"}},
		},
	}
	github := &alert.Data{
		Source: alert.SourceGeneric, Kind: alert.KindGitHubWorkflowRun,
		Payload: map[string]any{
			"action": "completed",
			"workflow_run": map[string]any{"name": "CI", "run_number": float64(42), "status": "completed", "conclusion": "failure",
				"head_branch": "main", "display_title": "Add retries", "html_url": "https://github.com/owner/repo/actions/runs/1",
				"actor": map[string]any{"login": "bob"}},
			"repository": map[string]any{"full_name": "owner/repo"},
		},
	}
	return []*alert.Data{am, unified, legacy, json, text, gitlab, github}
}
