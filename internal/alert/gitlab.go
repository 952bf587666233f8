package alert

import (
	"cmp"
	"net/http"
	"strings"
	"time"
)

// gitlabTime is the form GitLab writes pipeline times in.
const gitlabTime = "2006-01-02 15:04:05 MST"

// isGitLabPipeline reports whether a generic webhook is a GitLab pipeline
// event.
func isGitLabPipeline(h http.Header, obj jsonObject) bool {
	return h.Get("X-Gitlab-Event") == "Pipeline Hook" || obj.str("object_kind") == "pipeline"
}

// gitlabPipelineStatus maps a GitLab pipeline status to an alert status and
// severity: failed and canceled pipelines fire as warnings, a successful or
// skipped one is resolved, and one still under way (created, pending,
// running, manual, ...) fires as info, so that routes can match it away.
func gitlabPipelineStatus(s string) (status, severity string) {
	switch s {
	case "failed", "canceled", "cancelled":
		return StatusFiring, "warning"
	case "success", "skipped":
		return StatusResolved, "info"
	}
	return StatusFiring, "info"
}

// decodeGitLabPipeline synthesizes the alert of a GitLab pipeline event
// (Kind gitlab_pipeline), labelled alertname="GitLabPipeline", project, ref,
// pipeline_id, status (GitLab's), user and severity.
func decodeGitLabPipeline(obj jsonObject) (*Data, error) {
	attrs := obj.object("object_attributes")
	if attrs == nil {
		return nil, &DecodeError{Source: SourceGeneric, Path: "object_attributes",
			Msg: "GitLab pipeline event without pipeline attributes"}
	}
	id, pstatus := attrs.str("id"), attrs.str("status")
	status, severity := gitlabPipelineStatus(pstatus)
	project := obj.str("project", "path_with_namespace")
	labels := KV{"alertname": "GitLabPipeline", "severity": severity}
	setIf(labels, "project", project)
	setIf(labels, "ref", attrs.str("ref"))
	setIf(labels, "pipeline_id", id)
	setIf(labels, "status", pstatus)
	setIf(labels, "user", cmp.Or(obj.str("user", "username"), obj.str("user", "name")))

	url := attrs.str("url")
	if web := obj.str("project", "web_url"); url == "" && web != "" && id != "" {
		url = strings.TrimSuffix(web, "/") + "/-/pipelines/" + id
	}
	ann := KV{"summary": ciSummary("Pipeline #"+id, pstatus, project, attrs.str("ref"))}
	setIf(ann, "description", firstLine(obj.str("commit", "message")))
	a := Alert{Status: status, Labels: labels, Annotations: ann, GeneratorURL: url,
		StartsAt: attrs.time("created_at", gitlabTime, time.RFC3339)}
	if status == StatusResolved {
		a.EndsAt = attrs.time("finished_at", gitlabTime, time.RFC3339)
	}
	return single(KindGitLabPipeline, obj, a), nil
}
