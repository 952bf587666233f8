package alert

import (
	"bytes"
	"encoding/json"
	"maps"
	"net/http"
	"strings"
)

// DecodeGeneric decodes a generic webhook: any JSON object, or a text/plain
// message (see decodeText). Without a Content-Type, a body that is valid
// JSON is taken as JSON and anything else as text.
//
// Every payload gets one synthesized alert so that matchers and templates
// work as for Alertmanager. For a plain JSON object (Kind json) its labels
// are the object's top-level strings, numbers and booleans; alertname is
// taken from alertname, title, name or event (default "generic"); the status
// is resolved when status or state says resolved, ok, success, succeeded or
// passed, else firing; summary and description come from summary, message,
// text or description; generatorURL from generatorURL, url or link.
//
// GitLab pipeline events (X-Gitlab-Event: Pipeline Hook, or object_kind
// "pipeline") become Kind gitlab_pipeline, with labels alertname
// "GitLabPipeline", project, ref, pipeline_id, status, user and severity.
// GitHub workflow_run events (X-GitHub-Event: workflow_run, or a
// workflow_run object) become Kind github_workflow_run, with labels
// alertname "GitHubWorkflowRun", repository, workflow, branch, conclusion,
// action, run_number and severity. Failed runs fire with severity warning,
// successful ones resolve, and runs still under way fire with severity info
// so that a route can leave them out with a matcher.
//
// Data.Payload holds the decoded object, numbers as json.Number.
func DecodeGeneric(contentType string, header http.Header, body []byte) (*Data, error) {
	mt, params, err := mediaType(SourceGeneric, contentType)
	if err != nil {
		return nil, err
	}
	if mt == mediaNone {
		mt = mediaText
		if json.Valid(body) {
			mt = mediaJSON
		}
	}
	if mt == mediaText {
		return decodeText(contentType, params["charset"], body)
	}
	obj, err := decodeGenericObject(body)
	if err != nil {
		return nil, err
	}
	switch {
	case isGitLabPipeline(header, obj):
		return decodeGitLabPipeline(obj)
	case isGitHubWorkflowRun(header, obj):
		return decodeGitHubWorkflowRun(obj)
	}
	return decodeJSONObject(obj), nil
}

// decodeGenericObject decodes body, which must be one JSON object, keeping
// numbers as json.Number so that big ids survive.
func decodeGenericObject(body []byte) (jsonObject, error) {
	// Unmarshalling into an empty struct checks the syntax of the whole
	// body, trailing data included, without building anything.
	if err := decodeObject(SourceGeneric, "", body, &struct{}{}); err != nil {
		return nil, err
	}
	var obj jsonObject
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&obj); err != nil {
		return nil, jsonError(SourceGeneric, "", body, err)
	}
	return obj, nil
}

// isResolvedWord reports whether a status or state value means all is well.
func isResolvedWord(s string) bool {
	switch strings.ToLower(s) {
	case "resolved", "ok", "success", "succeeded", "passed":
		return true
	}
	return false
}

// decodeJSONObject synthesizes the alert of a plain JSON object.
func decodeJSONObject(obj jsonObject) *Data {
	labels := KV{}
	for k, v := range obj {
		if s, ok := scalar(v); ok && s != "" {
			labels[k] = s
		}
	}
	labels["alertname"] = obj.first("alertname", "title", "name", "event")
	if labels["alertname"] == "" {
		labels["alertname"] = "generic"
	}
	status := StatusFiring
	if isResolvedWord(obj.first("status", "state")) {
		status = StatusResolved
	}
	ann := KV{}
	var used string
	for _, k := range []string{"summary", "message", "text", "description"} {
		if v := obj.str(k); v != "" {
			ann["summary"], used = v, k
			break
		}
	}
	// The description is the next field that says something else.
	for _, k := range []string{"description", "message", "text"} {
		if v := obj.str(k); v != "" && k != used {
			ann["description"] = v
			break
		}
	}
	return single(KindJSON, obj, Alert{Status: status, Labels: labels, Annotations: ann,
		GeneratorURL: obj.first("generatorURL", "url", "link")})
}

// single wraps the one synthesized alert of a generic payload into Data.
func single(kind string, obj jsonObject, a Alert) *Data {
	a.Fingerprint = a.Labels.fingerprint()
	return &Data{
		Status:            a.Status,
		Alerts:            Alerts{a},
		GroupLabels:       KV{"alertname": a.Labels["alertname"]},
		CommonLabels:      maps.Clone(a.Labels),
		CommonAnnotations: maps.Clone(a.Annotations),
		Source:            SourceGeneric,
		Kind:              kind,
		Payload:           obj,
	}
}
