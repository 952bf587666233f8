package alert

import (
	"cmp"
	"net/http"
	"strings"
	"time"
)

// isGitHubWorkflowRun reports whether a generic webhook is a GitHub
// workflow_run event.
func isGitHubWorkflowRun(h http.Header, obj jsonObject) bool {
	return h.Get("X-GitHub-Event") == "workflow_run" || obj.object("workflow_run") != nil
}

// workflowRunStatus maps a workflow run's conclusion to an alert status and
// severity. A run that failed, timed out, could not start, was cancelled or
// waits for approval fires as a warning; a successful run, or one that
// ended neutral, skipped or stale, is resolved; a run still under way (no
// conclusion yet: requested, in_progress) fires as info, so that routes can
// match it away with severity!="info" or action="completed".
func workflowRunStatus(conclusion string) (status, severity string) {
	switch conclusion {
	case "failure", "timed_out", "startup_failure", "cancelled", "action_required":
		return StatusFiring, "warning"
	case "success", "neutral", "skipped", "stale":
		return StatusResolved, "info"
	}
	return StatusFiring, "info"
}

// decodeGitHubWorkflowRun synthesizes the alert of a GitHub workflow_run
// event (Kind github_workflow_run), labelled alertname="GitHubWorkflowRun",
// repository, workflow, branch, conclusion, action, run_number and severity.
func decodeGitHubWorkflowRun(obj jsonObject) (*Data, error) {
	run := obj.object("workflow_run")
	if run == nil {
		return nil, &DecodeError{Source: SourceGeneric, Path: "workflow_run",
			Msg: "GitHub workflow_run event without a workflow_run object"}
	}
	conclusion := run.str("conclusion")
	status, severity := workflowRunStatus(conclusion)
	repo := obj.str("repository", "full_name")
	labels := KV{"alertname": "GitHubWorkflowRun", "severity": severity}
	setIf(labels, "repository", repo)
	setIf(labels, "workflow", run.str("name"))
	setIf(labels, "branch", run.str("head_branch"))
	setIf(labels, "conclusion", conclusion)
	setIf(labels, "action", obj.str("action"))
	setIf(labels, "run_number", run.str("run_number"))

	outcome := conclusion
	if outcome == "" {
		outcome = strings.ReplaceAll(run.str("status"), "_", " ")
	}
	ann := KV{"summary": ciSummary("Workflow "+run.str("name")+" #"+run.str("run_number"), outcome, repo, run.str("head_branch"))}
	setIf(ann, "description", firstLine(cmp.Or(run.str("display_title"), run.str("head_commit", "message"))))
	a := Alert{Status: status, Labels: labels, Annotations: ann, GeneratorURL: run.str("html_url"),
		StartsAt: run.time("run_started_at", time.RFC3339)}
	if a.StartsAt.IsZero() {
		a.StartsAt = run.time("created_at", time.RFC3339)
	}
	if run.str("status") == "completed" {
		a.EndsAt = run.time("updated_at", time.RFC3339)
	}
	return single(KindGitHubWorkflowRun, obj, a), nil
}

// ciSummary is the one-line summary of a CI event: what, how it went, and
// where, like "Pipeline #31 failed on group/project (main)".
func ciSummary(what, outcome, project, ref string) string {
	var b strings.Builder
	b.WriteString(what)
	if outcome != "" {
		b.WriteString(" " + outcome)
	}
	if project != "" {
		b.WriteString(" on " + project)
	}
	if ref != "" {
		b.WriteString(" (" + ref + ")")
	}
	return b.String()
}
