package handlers

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/relayhq/relay/internal/auth"
	"github.com/relayhq/relay/internal/delivery"
	"github.com/relayhq/relay/internal/intake"
	"github.com/relayhq/relay/internal/secret"
	"github.com/relayhq/relay/internal/senders/chatmessenger"
)

const (
	jsonType = "application/json"
	payload  = `{"status":"firing"}`
)

func TestWebhookAcceptedPassesTheRequestOn(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		target string
		want   intake.Request
	}{
		{
			name:   "route",
			target: "/v1/alertmanager/ops",
			want:   intake.Request{Source: "alertmanager", Route: "ops"},
		},
		{
			name:   "chatwork room with template",
			target: "/v1/grafana/chatwork/1234?template=short",
			want: intake.Request{Source: "grafana",
				Direct: &intake.Direct{Kind: "chatwork", Dest: "1234", Query: url.Values{"template": {"short"}}, Template: "short"}},
		},
		{
			name:   "chatmessenger direct message",
			target: "/v1/generic/chatmessenger/messenger?users=a@x.com,b@x.com",
			want: intake.Request{Source: "generic",
				Direct: &intake.Direct{Kind: "chatmessenger", Dest: "messenger", Query: url.Values{"users": {"a@x.com,b@x.com"}}}},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			env := newEnv(t, &fakePipeline{}, nil)
			w := env.do(t, http.MethodPost, tc.target, jsonType, payload, http.Header{"X-Gitlab-Event": {"Pipeline Hook"}})
			if w.Code != http.StatusAccepted {
				t.Fatalf("got %d %s, want 202", w.Code, w.Body)
			}
			var res intake.Result
			if err := json.Unmarshal(w.Body.Bytes(), &res); err != nil {
				t.Fatal(err)
			}
			if want := (intake.Result{ID: "n1", Messages: 1}); res != want {
				t.Errorf("got %+v, want %+v", res, want)
			}
			accepted, _ := env.pipeline.calls()
			if len(accepted) != 1 {
				t.Fatalf("got %d calls to Accept, want 1", len(accepted))
			}
			got := accepted[0]
			if string(got.Body) != payload || got.ContentType != jsonType {
				t.Errorf("got body %q type %q, want %q %q", got.Body, got.ContentType, payload, jsonType)
			}
			if got.Header.Get("X-Gitlab-Event") != "Pipeline Hook" {
				t.Errorf("event header not passed on: %v", got.Header)
			}
			got.Body, got.ContentType, got.Header = nil, "", nil
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %+v (direct %+v), want %+v (direct %+v)", got, got.Direct, tc.want, tc.want.Direct)
			}
		})
	}
}

func TestWebhookDuplicateIsAccepted(t *testing.T) {
	t.Parallel()
	env := newEnv(t, &fakePipeline{duplicate: true}, nil)
	w := env.do(t, http.MethodPost, "/v1/alertmanager/ops", jsonType, payload, nil)
	if w.Code != http.StatusAccepted {
		t.Fatalf("got %d, want 202", w.Code)
	}
	var res intake.Result
	if err := json.Unmarshal(w.Body.Bytes(), &res); err != nil {
		t.Fatal(err)
	}
	if want := (intake.Result{ID: "first", Duplicate: true}); res != want {
		t.Errorf("got %+v, want %+v", res, want)
	}
}

func TestWebhookErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name        string
		pipeline    *fakePipeline
		target      string
		contentType string
		body        string
		header      http.Header
		wantStatus  int
		wantError   string // a part of the error message
	}{
		{name: "unknown source", target: "/v1/nagios/ops", wantStatus: 404, wantError: `unknown source "nagios"`},
		{name: "unknown source, direct", target: "/v1/zabbix/chatwork/1", wantStatus: 404, wantError: `unknown source "zabbix"`},
		{name: "unknown route", target: "/v1/alertmanager/nope", wantStatus: 404, wantError: `unknown route "nope"`},
		{name: "malformed JSON", target: "/v1/alertmanager/ops", body: `{"status":`, wantStatus: 400, wantError: "decode JSON payload"},
		{name: "empty body", target: "/v1/alertmanager/ops", body: "", wantStatus: 400, wantError: "empty request body"},
		{name: "unsupported content type", target: "/v1/generic/ops", contentType: "application/xml", body: "<a/>", wantStatus: 415, wantError: "unsupported content type"},
		{name: "body over the limit", target: "/v1/alertmanager/ops", body: `{"x":"` + strings.Repeat("a", 64) + `"}`, wantStatus: 413, wantError: "larger than 64 bytes"},
		{name: "outbox down", pipeline: &fakePipeline{storeErr: errStoreDown}, target: "/v1/alertmanager/ops", wantStatus: 503, wantError: "retry later"},
		{name: "missing bearer token", target: "/v1/alertmanager/secure", wantStatus: 401, wantError: "no Authorization header"},
		{name: "wrong bearer token", target: "/v1/alertmanager/secure", header: http.Header{"Authorization": {"Bearer nope"}}, wantStatus: 401, wantError: "wrong bearer token"},
		{name: "global token for a route with its own", pipeline: &fakePipeline{global: auth.Config{Bearer: secret.New("global")}},
			target: "/v1/alertmanager/secure", header: http.Header{"Authorization": {"Bearer global"}}, wantStatus: 401},
		{name: "unknown route without the global token", pipeline: &fakePipeline{global: auth.Config{Bearer: secret.New("global")}},
			target: "/v1/alertmanager/nope", wantStatus: 401},
		{name: "unknown route with the global token", pipeline: &fakePipeline{global: auth.Config{Bearer: secret.New("global")}},
			target: "/v1/alertmanager/nope", header: http.Header{"Authorization": {"Bearer global"}}, wantStatus: 404, wantError: `unknown route "nope"`},
		{name: "direct target without the global token", pipeline: &fakePipeline{global: auth.Config{Bearer: secret.New("global")}},
			target: "/v1/alertmanager/chatwork/1", wantStatus: 401},
		{name: "direct target of an unknown kind", target: "/v1/alertmanager/slack/1", wantStatus: 404, wantError: `unknown sender kind "slack"`},
		{name: "direct target of a kind without direct URLs", target: "/v1/alertmanager/console/1", wantStatus: 404, wantError: `unknown sender kind "console"`},
		{name: "preview of a direct target of an unknown kind", target: "/v1/preview/alertmanager/slack/1", wantStatus: 404, wantError: `unknown sender kind "slack"`},
		{name: "direct chatwork room that is not an id", target: "/v1/alertmanager/chatwork/general", wantStatus: 400, wantError: "chatwork room id"},
		{name: "direct chatmessenger message without users", target: "/v1/alertmanager/chatmessenger/messenger", wantStatus: 400, wantError: "needs users"},
		{name: "GET", target: "/v1/alertmanager/ops", wantStatus: 405},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := tc.pipeline
			if p == nil {
				p = &fakePipeline{}
			}
			env := newEnv(t, p, nil)
			ct, body := tc.contentType, tc.body
			if ct == "" {
				ct = jsonType
			}
			if body == "" && !strings.Contains(tc.name, "empty") {
				body = payload
			}
			method := http.MethodPost
			if tc.name == "GET" {
				method = http.MethodGet
			}
			w := env.do(t, method, tc.target, ct, body, tc.header)
			if w.Code != tc.wantStatus {
				t.Fatalf("got %d %s, want %d", w.Code, w.Body, tc.wantStatus)
			}
			e := decodeError(t, w)
			if !strings.Contains(e.Error, tc.wantError) {
				t.Errorf("got error %q, want it to say %q", e.Error, tc.wantError)
			}
			if accepted, _ := env.pipeline.calls(); len(accepted) != 0 {
				t.Errorf("got %d requests accepted, want none", len(accepted))
			}
			switch w.Code {
			case http.StatusUnauthorized:
				if w.Header().Get("WWW-Authenticate") == "" {
					t.Error("401 without WWW-Authenticate")
				}
			case http.StatusServiceUnavailable:
				if got := w.Header().Get("Retry-After"); got != "10" {
					t.Errorf("got Retry-After %q, want 10", got)
				}
			}
		})
	}
}

func TestWebhookBodyLimitWithoutContentLength(t *testing.T) {
	t.Parallel()
	env := newEnv(t, &fakePipeline{}, nil)
	req := newRequest(http.MethodPost, "/v1/generic/ops", strings.Repeat("x", 65))
	req.ContentLength = -1 // chunked: only reading finds out
	req.Header.Set("Content-Type", "text/plain")
	w := serve(env.handler, req)
	if w.Code != http.StatusRequestEntityTooLarge {
		t.Fatalf("got %d %s, want 413", w.Code, w.Body)
	}
	if accepted, _ := env.pipeline.calls(); len(accepted) != 0 {
		t.Errorf("got %d requests accepted, want none", len(accepted))
	}
}

func TestWebhookAuthPasses(t *testing.T) {
	t.Parallel()
	mac := hmac.New(sha256.New, []byte("hmac-key"))
	mac.Write([]byte(payload))
	sig := hex.EncodeToString(mac.Sum(nil))
	p := &fakePipeline{
		global: auth.Config{Bearer: secret.New("global")},
		routes: map[string]*auth.Config{
			"ops":     nil,
			"secure":  {Bearer: secret.New("route-token")},
			"grafana": {GrafanaHMAC: &auth.GrafanaHMAC{Secret: secret.New("hmac-key")}},
		},
	}
	cases := []struct {
		name   string
		target string
		header http.Header
	}{
		{name: "global token on a route without its own", target: "/v1/alertmanager/ops", header: http.Header{"Authorization": {"Bearer global"}}},
		{name: "route's own token", target: "/v1/alertmanager/secure", header: http.Header{"Authorization": {"Bearer route-token"}}},
		{name: "Grafana signature of the body", target: "/v1/grafana/grafana", header: http.Header{"X-Grafana-Alerting-Signature": {sig}}},
		{name: "global token on a direct target", target: "/v1/grafana/chatwork/1", header: http.Header{"Authorization": {"Bearer global"}}},
	}
	env := newEnv(t, p, nil)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := env.do(t, http.MethodPost, tc.target, jsonType, payload, tc.header)
			if w.Code != http.StatusAccepted {
				t.Fatalf("got %d %s, want 202", w.Code, w.Body)
			}
		})
	}
	accepted, _ := env.pipeline.calls()
	for _, req := range accepted {
		for _, h := range []string{"Authorization", "X-Grafana-Alerting-Signature"} {
			if req.Header.Get(h) != "" {
				t.Errorf("credential header %s passed on to the pipeline", h)
			}
		}
	}
}

// TestChatMessengerUsers: the users of a direct URL, however the query
// spells them, reach the destination normalised by the chatmessenger kind.
func TestChatMessengerUsers(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		query string
		want  []string
	}{
		{name: "comma-separated", query: "?users=a@x.com,b@x.com", want: []string{"a@x.com", "b@x.com"}},
		{name: "trimmed", query: "?users=%20a@x.com%20,%20b@x.com", want: []string{"a@x.com", "b@x.com"}},
		{name: "empty entries dropped", query: "?users=,a@x.com,,b@x.com,", want: []string{"a@x.com", "b@x.com"}},
		{name: "repeated parameter", query: "?users=a@x.com&users=b@x.com,c@x.com", want: []string{"a@x.com", "b@x.com", "c@x.com"}},
		{name: "sorted and unique", query: "?users=z@x.com,a@x.com,z@x.com", want: []string{"a@x.com", "z@x.com"}},
		{name: "only commas", query: "?users=,,", want: nil},
		{name: "none", query: "", want: nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			env := newEnv(t, &fakePipeline{}, nil)
			target := "/v1/preview/generic/chatmessenger/ops-room" + tc.query
			w := env.do(t, http.MethodPost, target, "text/plain", "disk full", nil)
			if w.Code != http.StatusOK {
				t.Fatalf("got %d %s, want 200", w.Code, w.Body)
			}
			_, previewed := env.pipeline.calls()
			d := previewed[0].Direct
			if d == nil || d.Kind != chatmessenger.Name || d.Dest != "ops-room" {
				t.Fatalf("got direct %+v, want chatmessenger ops-room", d)
			}
			var wantQuery url.Values // none without a query
			if tc.query != "" {
				wantQuery, _ = url.ParseQuery(tc.query[1:])
			}
			if !reflect.DeepEqual(d.Query, wantQuery) {
				t.Errorf("got query %v, want %v", d.Query, wantQuery)
			}
			var got preview
			if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
				t.Fatal(err)
			}
			want := delivery.Destination{Sender: chatmessenger.Name, Address: chatmessenger.Dest{Panel: "ops-room", Users: tc.want}.Address()}
			if len(got.Messages) != 1 || got.Messages[0].Destination != want {
				t.Errorf("got messages %+v, want one to %+v", got.Messages, want)
			}
		})
	}
}

func TestPreviewRendersAndEnqueuesNothing(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		target string
		want   intake.Request
	}{
		{name: "route", target: "/v1/preview/alertmanager/ops", want: intake.Request{Source: "alertmanager", Route: "ops"}},
		{name: "chatwork", target: "/v1/preview/grafana/chatwork/99", want: intake.Request{Source: "grafana",
			Direct: &intake.Direct{Kind: "chatwork", Dest: "99"}}},
		{name: "chatmessenger", target: "/v1/preview/generic/chatmessenger/messenger?users=a@x.com", want: intake.Request{Source: "generic",
			Direct: &intake.Direct{Kind: "chatmessenger", Dest: "messenger", Query: url.Values{"users": {"a@x.com"}}}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			env := newEnv(t, &fakePipeline{}, nil)
			w := env.do(t, http.MethodPost, tc.target, jsonType, payload, nil)
			if w.Code != http.StatusOK {
				t.Fatalf("got %d %s, want 200", w.Code, w.Body)
			}
			var got preview
			if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
				t.Fatal(err)
			}
			if len(got.Messages) != 1 || got.Messages[0].Body != "[FIRING] "+tc.want.Source {
				t.Errorf("got messages %+v, want the one rendered message", got.Messages)
			}
			accepted, previewed := env.pipeline.calls()
			if len(accepted) != 0 {
				t.Errorf("got %d calls to Accept, want none", len(accepted))
			}
			if len(previewed) != 1 {
				t.Fatalf("got %d calls to Preview, want 1", len(previewed))
			}
			req := previewed[0]
			req.Body, req.ContentType, req.Header = nil, "", nil
			if !reflect.DeepEqual(req, tc.want) {
				t.Errorf("got %+v, want %+v", req, tc.want)
			}
		})
	}
}

func TestPreviewNeedsAuth(t *testing.T) {
	t.Parallel()
	env := newEnv(t, &fakePipeline{}, nil)
	w := env.do(t, http.MethodPost, "/v1/preview/alertmanager/secure", jsonType, payload, nil)
	if w.Code != http.StatusUnauthorized {
		t.Fatalf("got %d, want 401", w.Code)
	}
	if _, previewed := env.pipeline.calls(); len(previewed) != 0 {
		t.Errorf("got %d calls to Preview, want none", len(previewed))
	}
}

// failingReader is a body whose connection breaks after a few bytes.
type failingReader struct{ sent bool }

func (f *failingReader) Read(p []byte) (int, error) {
	if f.sent {
		return 0, io.ErrUnexpectedEOF
	}
	f.sent = true
	return copy(p, `{"sta`), nil
}

func TestWebhookBrokenBodyIsRetryable(t *testing.T) {
	t.Parallel()
	env := newEnv(t, &fakePipeline{}, nil)
	req := httptest.NewRequest(http.MethodPost, "/v1/alertmanager/ops", &failingReader{})
	req.Header.Set("Content-Type", jsonType)
	w := serve(env.handler, req)
	if w.Code != http.StatusServiceUnavailable {
		t.Fatalf("got %d %s, want 503: Alertmanager retries only 5xx", w.Code, w.Body)
	}
	if w.Header().Get("Retry-After") == "" {
		t.Error("503 without Retry-After")
	}
	if accepted, _ := env.pipeline.calls(); len(accepted) != 0 {
		t.Errorf("got %d requests accepted, want none", len(accepted))
	}
}

// TestWebhookBodyIsReadWhole holds the body limit (64 bytes in newEnv) and
// the body the pipeline gets, whether Content-Length is announced, absent
// (chunked) or wrong (possible only when the handler is called directly).
func TestWebhookBodyIsReadWhole(t *testing.T) {
	t.Parallel()
	atLimit := strings.Repeat("x", 64)
	cases := []struct {
		name          string
		body          string
		contentLength int64
		wantStatus    int
	}{
		{name: "announced, one byte", body: "x", contentLength: 1, wantStatus: 202},
		{name: "announced, at the limit", body: atLimit, contentLength: 64, wantStatus: 202},
		{name: "announced, over the limit", body: atLimit + "x", contentLength: 65, wantStatus: 413},
		{name: "chunked, at the limit", body: atLimit, contentLength: -1, wantStatus: 202},
		{name: "chunked, over the limit", body: atLimit + "x", contentLength: -1, wantStatus: 413},
		{name: "chunked, empty", body: "", contentLength: -1, wantStatus: 400},
		{name: "announced empty", body: "", contentLength: 0, wantStatus: 400},
		{name: "shorter than announced", body: "short", contentLength: 40, wantStatus: 202},
		{name: "longer than announced, within the limit", body: atLimit, contentLength: 3, wantStatus: 202},
		{name: "longer than announced, over the limit", body: atLimit + "x", contentLength: 3, wantStatus: 413},
		{name: "announced zero, body sent", body: "abc", contentLength: 0, wantStatus: 202},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			env := newEnv(t, &fakePipeline{}, nil)
			req := newRequest(http.MethodPost, "/v1/generic/ops", tc.body)
			req.ContentLength = tc.contentLength
			req.Header.Set("Content-Type", "text/plain")
			w := serve(env.handler, req)
			if w.Code != tc.wantStatus {
				t.Fatalf("got %d %s, want %d", w.Code, w.Body, tc.wantStatus)
			}
			accepted, _ := env.pipeline.calls()
			if tc.wantStatus != http.StatusAccepted {
				if len(accepted) != 0 {
					t.Errorf("got %d requests accepted, want none", len(accepted))
				}
				return
			}
			if len(accepted) != 1 || string(accepted[0].Body) != tc.body {
				t.Fatalf("got %d requests accepted, want one with body %q", len(accepted), tc.body)
			}
		})
	}
}

func TestReadAllGrowsPastThePreallocation(t *testing.T) {
	t.Parallel()
	want := strings.Repeat("0123456789", maxPrealloc/5) // twice maxPrealloc
	for _, size := range []int64{-1, 0, 10, maxPrealloc, int64(len(want)), int64(len(want)) + 100} {
		got, err := readAll(io.LimitReader(strings.NewReader(want), int64(len(want))), size)
		if err != nil || string(got) != want {
			t.Errorf("size %d: got %d bytes, %v; want %d bytes", size, len(got), err, len(want))
		}
	}
	got, err := readAll(strings.NewReader("abc"), 3)
	if err != nil || string(got) != "abc" || cap(got) != 4 {
		t.Errorf("got %q (cap %d), %v; want \"abc\" in one buffer of 4 bytes", got, cap(got), err)
	}
}

// TestCredentialsNeverReachThePipeline sends every header that carries a
// credential, and a route's own Grafana signature header; the pipeline
// gets the other headers only.
func TestCredentialsNeverReachThePipeline(t *testing.T) {
	t.Parallel()
	mac := hmac.New(sha256.New, []byte("hmac-key"))
	mac.Write([]byte(payload))
	sig := hex.EncodeToString(mac.Sum(nil))
	p := &fakePipeline{routes: map[string]*auth.Config{
		"custom": {GrafanaHMAC: &auth.GrafanaHMAC{Secret: secret.New("hmac-key"), Header: "X-My-Signature"}},
	}}
	env := newEnv(t, p, nil)
	sent := http.Header{
		"X-My-Signature":               {sig},
		"Authorization":                {"Bearer x"},
		"Proxy-Authorization":          {"Basic eA=="},
		"Cookie":                       {"session=x"},
		"X-Gitlab-Token":               {"x"},
		"X-Hub-Signature":              {"sha1=x"},
		"X-Hub-Signature-256":          {"sha256=x"},
		"X-Grafana-Alerting-Signature": {"x"},
		"X-Gitlab-Event":               {"Pipeline Hook"},
		"User-Agent":                   {"Alertmanager/0.28.1"},
	}
	w := env.do(t, http.MethodPost, "/v1/grafana/custom", jsonType, payload, sent)
	if w.Code != http.StatusAccepted {
		t.Fatalf("got %d %s, want 202", w.Code, w.Body)
	}
	accepted, _ := env.pipeline.calls()
	want := http.Header{
		"Content-Type":   {jsonType},
		"X-Gitlab-Event": {"Pipeline Hook"},
		"User-Agent":     {"Alertmanager/0.28.1"},
	}
	if got := accepted[0].Header; !reflect.DeepEqual(got, want) {
		t.Errorf("pipeline got headers %v, want %v", got, want)
	}
}

func TestCredentialHeadersAreCanonical(t *testing.T) {
	t.Parallel()
	for _, k := range credentialHeaders {
		if c := http.CanonicalHeaderKey(k); c != k {
			t.Errorf("credential header %q is not canonical (%q): delete would miss it", k, c)
		}
	}
}

// TestPreviewsAreBoundedWebhooksAreNot: while the one preview allowed at
// once renders, another is answered 429 with Retry-After; webhooks are
// still accepted; once it is done, previews are served again.
func TestPreviewsAreBoundedWebhooksAreNot(t *testing.T) {
	t.Parallel()
	p := &fakePipeline{previewing: make(chan struct{}), previewDone: make(chan struct{})}
	env := newEnv(t, p, nil)
	done := make(chan int)
	go func() {
		w := env.do(t, http.MethodPost, "/v1/preview/alertmanager/ops", "application/json", `{}`, nil)
		done <- w.Code
	}()
	<-p.previewing
	w := env.do(t, http.MethodPost, "/v1/preview/alertmanager/ops", "application/json", `{}`, nil)
	if w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") != "1" {
		t.Errorf("second preview: got %d (Retry-After %q) %s, want 429 with Retry-After 1", w.Code, w.Header().Get("Retry-After"), w.Body)
	}
	if w := env.do(t, http.MethodPost, "/v1/alertmanager/ops", "application/json", `{}`, nil); w.Code != http.StatusAccepted {
		t.Errorf("webhook during a preview: got %d %s, want 202", w.Code, w.Body)
	}
	close(p.previewDone)
	if code := <-done; code != http.StatusOK {
		t.Errorf("first preview: got %d, want 200", code)
	}
	p.previewing = nil
	if w := env.do(t, http.MethodPost, "/v1/preview/alertmanager/ops", "application/json", `{}`, nil); w.Code != http.StatusOK {
		t.Errorf("preview after the first: got %d %s, want 200", w.Code, w.Body)
	}
}
