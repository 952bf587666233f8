package alert

import (
	"encoding/json"
	"net/http"
	"testing"
)

func TestDecodeGenericFixtures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file        string
		contentType string
		header      http.Header
		kind        string
		status      string
		labels      KV // exactly the alert's labels; nil: check only alertname
		alertname   string
		summary     string
		description string
		url         string
	}{
		{
			file: "generic/plain.json", contentType: "application/json", kind: KindJSON, status: StatusFiring,
			alertname: "BackupFailed", summary: "Nightly backup of orders-db failed",
			description: `pg_basebackup exited with status 1 after 42m13s: could not write to file "base/16384/2619": No space left on device`,
			url:         "https://backup.example.com/runs/9007199254740993",
		},
		{
			file: "generic/gitlab_pipeline_failed.json", contentType: "application/json",
			header: http.Header{"X-Gitlab-Event": {"Pipeline Hook"}}, kind: KindGitLabPipeline, status: StatusFiring,
			labels: KV{"alertname": "GitLabPipeline", "project": "platform/checkout-api", "ref": "main",
				"pipeline_id": "1412873", "status": "failed", "user": "atanaka", "severity": "warning"},
			summary:     "Pipeline #1412873 failed on platform/checkout-api (main)",
			description: "Retry payment provider calls on 503",
			url:         "https://gitlab.example.com/platform/checkout-api/-/pipelines/1412873",
		},
		{
			file: "generic/gitlab_pipeline_success.json", contentType: "application/json; charset=utf-8", kind: KindGitLabPipeline,
			status: StatusResolved,
			labels: KV{"alertname": "GitLabPipeline", "project": "platform/checkout-api", "ref": "main",
				"pipeline_id": "1412873", "status": "success", "user": "atanaka", "severity": "info"},
			summary:     "Pipeline #1412873 success on platform/checkout-api (main)",
			description: "Retry payment provider calls on 503",
			url:         "https://gitlab.example.com/platform/checkout-api/-/pipelines/1412873",
		},
		{
			file: "generic/github_workflow_run_failure.json", contentType: "application/json",
			header: http.Header{"X-Github-Event": {"workflow_run"}}, kind: KindGitHubWorkflowRun, status: StatusFiring,
			labels: KV{"alertname": "GitHubWorkflowRun", "repository": "example-org/checkout-api", "workflow": "CI",
				"branch": "main", "conclusion": "failure", "action": "completed", "run_number": "1842", "severity": "warning"},
			summary:     "Workflow CI #1842 failure on example-org/checkout-api (main)",
			description: "Retry payment provider calls on 503",
			url:         "https://github.com/example-org/checkout-api/actions/runs/9087712345",
		},
		{
			file: "generic/github_workflow_run_success.json", contentType: "application/json", kind: KindGitHubWorkflowRun,
			status: StatusResolved,
			labels: KV{"alertname": "GitHubWorkflowRun", "repository": "example-org/checkout-api", "workflow": "CI",
				"branch": "main", "conclusion": "success", "action": "completed", "run_number": "1842", "severity": "info"},
			summary:     "Workflow CI #1842 success on example-org/checkout-api (main)",
			description: "Retry payment provider calls on 503",
			url:         "https://github.com/example-org/checkout-api/actions/runs/9087712345",
		},
		{
			file: "generic/message.txt", contentType: "text/plain; charset=utf-8", kind: KindText, status: StatusFiring,
			labels:      KV{"alertname": "text"},
			summary:     "Disk usage on db-1.prod.example.com reached 93% on /var/lib/postgresql",
			description: "Disk usage on db-1.prod.example.com reached 93% on /var/lib/postgresql\n\ncheck: disk-usage (cron, every 5 minutes)\nhost: db-1.prod.example.com\n対応: 古い WAL ファイルとベースバックアップを確認してください。",
		},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			t.Parallel()
			d, err := DecodeGeneric(tc.contentType, tc.header, fixture(t, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			if d.Source != SourceGeneric || d.Kind != tc.kind {
				t.Errorf("got source %q kind %q, want generic %q", d.Source, d.Kind, tc.kind)
			}
			if len(d.Alerts) != 1 {
				t.Fatalf("got %d alerts, want 1", len(d.Alerts))
			}
			a := d.Alerts[0]
			if d.Status != tc.status || a.Status != tc.status {
				t.Errorf("got status %q/%q, want %q", d.Status, a.Status, tc.status)
			}
			if tc.labels != nil && a.Labels.SortedPairs().String() != tc.labels.SortedPairs().String() {
				t.Errorf("got labels %v,\nwant %v", a.Labels.SortedPairs(), tc.labels.SortedPairs())
			}
			if tc.alertname != "" && a.Labels["alertname"] != tc.alertname {
				t.Errorf("got alertname %q, want %q", a.Labels["alertname"], tc.alertname)
			}
			if a.Annotations["summary"] != tc.summary || a.Annotations["description"] != tc.description {
				t.Errorf("got summary %q description %q,\nwant %q %q", a.Annotations["summary"], a.Annotations["description"], tc.summary, tc.description)
			}
			if a.GeneratorURL != tc.url {
				t.Errorf("got generatorURL %q, want %q", a.GeneratorURL, tc.url)
			}
			if d.CommonLabels["alertname"] != a.Labels["alertname"] || d.GroupLabels["alertname"] != a.Labels["alertname"] {
				t.Errorf("got commonLabels %v groupLabels %v", d.CommonLabels, d.GroupLabels)
			}
			if a.Fingerprint != a.Labels.fingerprint() {
				t.Errorf("got fingerprint %q, want %q", a.Fingerprint, a.Labels.fingerprint())
			}
			if got := d.Text != ""; got != (tc.kind == KindText) {
				t.Errorf("got text %q for kind %s", d.Text, tc.kind)
			}
			if got := d.Payload != nil; got != (tc.kind != KindText) {
				t.Errorf("got payload %v for kind %s", d.Payload != nil, tc.kind)
			}
		})
	}
}

func TestDecodeGenericPayloadKeepsBigNumbers(t *testing.T) {
	t.Parallel()
	d, err := DecodeGeneric("application/json", nil, fixture(t, "generic/plain.json"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := d.Payload["run_id"], json.Number("9007199254740993"); got != want {
		t.Errorf("got payload run_id %#v, want %#v", got, want)
	}
	if got := d.Alerts[0].Labels["run_id"]; got != "9007199254740993" {
		t.Errorf("got label run_id %q, want 9007199254740993", got)
	}
	details, ok := d.Payload["details"].(map[string]any)
	if !ok || details["database"] != "orders" {
		t.Errorf("got details %#v, want the nested object", d.Payload["details"])
	}
	if _, ok := d.Alerts[0].Labels["details"]; ok {
		t.Error("got a label for the nested object details, want only scalars")
	}
	if d.Alerts[0].Labels["retrying"] != "false" || d.Alerts[0].Labels["attempt"] != "3" {
		t.Errorf("got labels %v, want booleans and numbers stringified", d.Alerts[0].Labels)
	}
}

func TestDecodeGenericJSONObjectRules(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		body        string
		alertname   string
		status      string
		summary     string
		description string
	}{
		{"empty object", `{}`, "generic", StatusFiring, "", ""},
		{"alertname wins over title", `{"title":"T","alertname":"A"}`, "A", StatusFiring, "", ""},
		{"title", `{"title":"Disk full","name":"n"}`, "Disk full", StatusFiring, "", ""},
		{"name", `{"name":"n","event":"e"}`, "n", StatusFiring, "", ""},
		{"event", `{"event":"deploy"}`, "deploy", StatusFiring, "", ""},
		{"non-string title is stringified", `{"title":42}`, "42", StatusFiring, "", ""},
		{"status resolved", `{"status":"resolved"}`, "generic", StatusResolved, "", ""},
		{"status OK in capitals", `{"status":"OK"}`, "generic", StatusResolved, "", ""},
		{"state succeeded", `{"state":"succeeded"}`, "generic", StatusResolved, "", ""},
		{"status passed", `{"status":"passed"}`, "generic", StatusResolved, "", ""},
		{"status success", `{"status":"success"}`, "generic", StatusResolved, "", ""},
		{"status failed", `{"status":"failed"}`, "generic", StatusFiring, "", ""},
		{"status not a string", `{"status":{"resolved":true}}`, "generic", StatusFiring, "", ""},
		{"message only", `{"message":"m"}`, "generic", StatusFiring, "m", ""},
		{"summary and description", `{"summary":"s","description":"d","message":"m"}`, "generic", StatusFiring, "s", "d"},
		{"summary and message", `{"summary":"s","message":"m"}`, "generic", StatusFiring, "s", "m"},
		{"message and text", `{"text":"t","message":"m"}`, "generic", StatusFiring, "m", "t"},
		{"description only", `{"description":"d"}`, "generic", StatusFiring, "d", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			d, err := DecodeGeneric("application/json", nil, []byte(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			a := d.Alerts[0]
			if a.Labels["alertname"] != tc.alertname || a.Status != tc.status || d.Status != tc.status {
				t.Errorf("got alertname %q status %q/%q, want %q %q", a.Labels["alertname"], a.Status, d.Status, tc.alertname, tc.status)
			}
			if a.Annotations["summary"] != tc.summary || a.Annotations["description"] != tc.description {
				t.Errorf("got annotations %v, want summary %q description %q", a.Annotations, tc.summary, tc.description)
			}
			if d.Kind != KindJSON {
				t.Errorf("got kind %q, want json", d.Kind)
			}
		})
	}
}

func TestDecodeGenericCIStatuses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		header   http.Header
		body     string
		kind     string
		status   string
		severity string
	}{
		{"gitlab running", nil, `{"object_kind":"pipeline","object_attributes":{"id":1,"status":"running"}}`, KindGitLabPipeline, StatusFiring, "info"},
		{"gitlab canceled", nil, `{"object_kind":"pipeline","object_attributes":{"id":1,"status":"canceled"}}`, KindGitLabPipeline, StatusFiring, "warning"},
		{"gitlab skipped", nil, `{"object_kind":"pipeline","object_attributes":{"id":1,"status":"skipped"}}`, KindGitLabPipeline, StatusResolved, "info"},
		{"gitlab by header only", http.Header{"X-Gitlab-Event": {"Pipeline Hook"}}, `{"object_attributes":{"id":1,"status":"failed"}}`, KindGitLabPipeline, StatusFiring, "warning"},
		{"gitlab push hook is plain JSON", http.Header{"X-Gitlab-Event": {"Push Hook"}}, `{"object_kind":"push"}`, KindJSON, StatusFiring, ""},
		{"github in progress", nil, `{"action":"in_progress","workflow_run":{"status":"in_progress","conclusion":null}}`, KindGitHubWorkflowRun, StatusFiring, "info"},
		{"github timed out", nil, `{"action":"completed","workflow_run":{"status":"completed","conclusion":"timed_out"}}`, KindGitHubWorkflowRun, StatusFiring, "warning"},
		{"github cancelled", nil, `{"action":"completed","workflow_run":{"status":"completed","conclusion":"cancelled"}}`, KindGitHubWorkflowRun, StatusFiring, "warning"},
		{"github startup failure", nil, `{"action":"completed","workflow_run":{"status":"completed","conclusion":"startup_failure"}}`, KindGitHubWorkflowRun, StatusFiring, "warning"},
		{"github skipped", nil, `{"action":"completed","workflow_run":{"status":"completed","conclusion":"skipped"}}`, KindGitHubWorkflowRun, StatusResolved, "info"},
		{"github ping is plain JSON", http.Header{"X-Github-Event": {"ping"}}, `{"zen":"Keep it logically awesome.","hook_id":1}`, KindJSON, StatusFiring, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			d, err := DecodeGeneric("application/json", tc.header, []byte(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			a := d.Alerts[0]
			if d.Kind != tc.kind || a.Status != tc.status || a.Labels["severity"] != tc.severity {
				t.Errorf("got kind %q status %q severity %q, want %q %q %q", d.Kind, a.Status, a.Labels["severity"], tc.kind, tc.status, tc.severity)
			}
		})
	}
}

func TestDecodeGenericText(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		contentType string
		body        string
		text        string
		summary     string
	}{
		{"one line", "text/plain", "deploy of checkout finished\n", "deploy of checkout finished", "deploy of checkout finished"},
		{"CRLF lines", "text/plain", "  first line\r\nsecond\r\n", "first line\r\nsecond", "first line"},
		{"Shift_JIS", "text/plain; charset=Shift_JIS", "\x83\x66\x83\x42\x83\x58\x83\x4e\x82\xaa\x88\xea\x94\x74", "ディスクが一杯", "ディスクが一杯"},
		{"invalid UTF-8 is replaced", "text/plain", "bad \xff byte", "bad \uFFFD byte", "bad \uFFFD byte"},
		{"no content type and not JSON", "", "plain words", "plain words", "plain words"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			d, err := DecodeGeneric(tc.contentType, nil, []byte(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			a := d.Alerts[0]
			if d.Kind != KindText || d.Text != tc.text || a.Annotations["summary"] != tc.summary || a.Annotations["description"] != tc.text {
				t.Errorf("got kind %q text %q annotations %v, want text %q summary %q", d.Kind, d.Text, a.Annotations, tc.text, tc.summary)
			}
			if a.Labels["alertname"] != "text" || a.Status != StatusFiring || d.Payload != nil {
				t.Errorf("got labels %v status %q payload %v", a.Labels, a.Status, d.Payload)
			}
		})
	}
}

func TestDecodeGenericRejects(t *testing.T) {
	t.Parallel()
	decodeJSON := func(b []byte) (*Data, error) { return DecodeGeneric("application/json", nil, b) }
	checkRejects(t, decodeJSON, []badInput{
		{"empty JSON body", "", "generic payload: empty body"},
		{"array", `[{"title":"x"}]`, "generic payload: want a JSON object, got an array"},
		{"number", `42`, "generic payload: want a JSON object, got a number"},
		{"boolean", `true`, "generic payload: want a JSON object, got a boolean"},
		{"null", `null`, "generic payload: want a JSON object, got null"},
		{"syntax error with position", "{\n\t\"title\": \"x\",\n\t\"n\": 01\n}", "generic payload: invalid JSON at line 3, column 8: invalid character '1' after object key:value pair"},
		{"two objects", `{} {}`, "invalid JSON at line 1, column 4: invalid character '{' after top-level value"},
		{"gitlab without attributes", `{"object_kind":"pipeline"}`, "generic payload: object_attributes: GitLab pipeline event without pipeline attributes"},
	})
	checkRejects(t, func(b []byte) (*Data, error) {
		return DecodeGeneric("text/plain", nil, b)
	}, []badInput{
		{"empty text", "", "generic payload: empty body"},
		{"blank text", " \r\n\t ", "generic payload: empty body"},
	})
	checkRejects(t, func(b []byte) (*Data, error) {
		return DecodeGeneric("application/json", http.Header{"X-Github-Event": {"workflow_run"}}, b)
	}, []badInput{
		{"github header without workflow_run", `{"action":"completed"}`, "generic payload: workflow_run: GitHub workflow_run event without a workflow_run object"},
	})
}
