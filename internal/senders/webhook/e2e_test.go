package webhook

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/relayhq/relay/internal/alert"
	"github.com/relayhq/relay/internal/config"
	"github.com/relayhq/relay/internal/delivery"
	"github.com/relayhq/relay/internal/secret"
	"github.com/relayhq/relay/internal/senders"
	"github.com/relayhq/relay/internal/templates"
)

// exampleTemplates is the directory of the README's Teams template.
const exampleTemplates = "../../../examples/webhook-templates"

// routesFile is a routes file with one webhook sender and two targets: the
// default body, and the Teams workflow template.
const routesFile = `
templates: ` + exampleTemplates + `
senders:
  hooks:
    type: webhook
    url_env: HOOK_URL
    headers: {X-Team: ops}
    header_env: {Authorization: HOOK_AUTH}
    hmac_secret_env: HOOK_SECRET
    limits: {destination: {count: 1, per: 1s}}
routes:
  ops:
    targets:
      - sender: hooks
      - sender: hooks
        template: teams-workflow
`

// TestDeliversRenderedAlertWithValidSignature is the path of an alert:
// the routes file through config, the payload through the templates in
// the kind's notation, and the body through the poster to a fake that
// refuses any request whose signature is not the body's.
func TestDeliversRenderedAlertWithValidSignature(t *testing.T) {
	t.Parallel()
	f := newFake(t, hookPath, hookKey, map[string]string{"X-Team": "ops", "Authorization": hookAuth})
	env := map[string]string{"HOOK_URL": f.url(), "HOOK_AUTH": hookAuth, "HOOK_SECRET": hookKey}
	kinds := config.NewKinds(Kind{})
	file, err := config.Parse("relay.yml", []byte(routesFile), kinds, func(k string) string { return env[k] }, os.ReadFile)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	cfg, err := config.Build(config.Env{}, file, kinds, senders.Env{Getenv: func(string) string { return "" }, ReadFile: os.ReadFile})
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	if cfg.DryRun {
		t.Fatalf("dry-run (%s): a webhook sender's URL is a credential", cfg.DryRunReason())
	}
	s := cfg.Senders["hooks"]
	if s == nil || s.Destination != (senders.Limit{Count: 1, Per: time.Second}) || s.Fold {
		t.Fatalf("sender hooks = %+v, want a 1/1s destination limit and no folding", s)
	}
	tmpl, err := templates.New([]fs.FS{s.Kind.Templates()}, cfg.Templates...)
	if err != nil {
		t.Fatalf("templates: %v", err)
	}
	payload, err := os.ReadFile("testdata/alertmanager.json")
	if err != nil {
		t.Fatal(err)
	}
	data, err := alert.DecodeAlertmanager(payload)
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	poster, err := s.Kind.New(s, senders.Runtime{Client: f.srv.Client(), Logger: zap.NewNop(), Scrub: secret.NewScrubber(cfg.Secrets()...)})
	if err != nil {
		t.Fatalf("New: %v", err)
	}

	for _, tg := range cfg.Routes["ops"].Targets {
		d := tg.Select(data)
		address, prefix := tg.Dest.Resolve(d)
		parts, err := tmpl.RenderParts(s.Kind.Notation(), tg.Template, d, s.MaxChars)
		if err != nil || len(parts) != 1 {
			t.Fatalf("render %q: %d parts, %v; want one", tg.Template, len(parts), err)
		}
		dest := delivery.Destination{Sender: tg.Sender, Address: address}
		if _, err := poster.Send(context.Background(), dest, prefix+parts[0]); err != nil {
			t.Fatalf("send %q: %v (fake refused %v)", tg.Template, err, f.refusals())
		}
	}

	got := f.bodies()
	if len(got) != 2 {
		t.Fatalf("fake accepted %d bodies, want 2", len(got))
	}
	var def struct{ Text string }
	if err := json.Unmarshal([]byte(got[0]), &def); err != nil {
		t.Fatalf("default body %s: %v", got[0], err)
	}
	for _, want := range []string{"HighLatency", `p99 latency "above" 2s on <web-1> & web-2`} {
		if !strings.Contains(def.Text, want) {
			t.Errorf("default body's text %q lacks %q", def.Text, want)
		}
	}
	var card teamsMessage
	if err := json.Unmarshal([]byte(got[1]), &card); err != nil {
		t.Fatalf("Teams body is not JSON: %v\n%s", err, got[1])
	}
	if err := card.check("HighLatency", `FIRING: p99 latency "above" 2s on <web-1> & web-2`); err != nil {
		t.Errorf("Teams body: %v\n%s", err, got[1])
	}
}

// teamsMessage is what a Teams workflow's "Post to a channel when a
// webhook request is received" reads.
type teamsMessage struct {
	Type        string `json:"type"`
	Attachments []struct {
		ContentType string `json:"contentType"`
		Content     struct {
			Type    string `json:"type"`
			Version string `json:"version"`
			Body    []struct {
				Type string `json:"type"`
				Text string `json:"text"`
			} `json:"body"`
		} `json:"content"`
	} `json:"attachments"`
}

// check says what is wrong with m, nil when it is a message with one
// Adaptive Card whose text blocks hold texts.
func (m teamsMessage) check(texts ...string) error {
	if m.Type != "message" || len(m.Attachments) != 1 {
		return fmt.Errorf("type %q with %d attachments, want a message with one", m.Type, len(m.Attachments))
	}
	a := m.Attachments[0]
	if a.ContentType != "application/vnd.microsoft.card.adaptive" || a.Content.Type != "AdaptiveCard" || a.Content.Version == "" {
		return fmt.Errorf("attachment %q of %q, want an Adaptive Card", a.ContentType, a.Content.Type)
	}
	var all []string
	for _, b := range a.Content.Body {
		all = append(all, b.Text)
	}
	joined := strings.Join(all, "\n")
	for _, want := range texts {
		if !strings.Contains(joined, want) {
			return fmt.Errorf("card text %q lacks %q", joined, want)
		}
	}
	return nil
}

// TestTeamsTemplateRendersJSONForEverySample renders the README's Teams
// template on every sample payload (what check-config does): each body is
// valid JSON and an Adaptive Card, whatever the source.
func TestTeamsTemplateRendersJSONForEverySample(t *testing.T) {
	t.Parallel()
	tmpl, err := templates.New(nil, exampleTemplates)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range templates.Samples() {
		body, err := tmpl.Render(Kind{}.Notation(), "teams-workflow", d)
		if err != nil {
			t.Errorf("%s sample: %v", d.Kind, err)
			continue
		}
		var m teamsMessage
		if err := json.Unmarshal([]byte(body), &m); err != nil {
			t.Errorf("%s sample: not JSON: %v\n%s", d.Kind, err, body)
			continue
		}
		if err := m.check(); err != nil {
			t.Errorf("%s sample: %v", d.Kind, err)
		}
	}
}

// TestExampleRoutesFile loads examples/webhook.yml, the README's routes
// file, with the variables and the file it names.
func TestExampleRoutesFile(t *testing.T) {
	t.Parallel()
	env := map[string]string{
		"SLACK_OPS_WEBHOOK_URL": "https://hooks.slack.com/services/T000/B000/XXXX",
		"TEAMS_OPS_WORKFLOW_URL": "https://prod-01.westus.logic.azure.com:443/workflows/abc/triggers/manual/paths/invoke" +
			"?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=teams-sig-123",
		"INCIDENTS_URL":  "https://incidents.example.com/hook",
		"INCIDENTS_AUTH": "Bearer incidents-token",
		"INCIDENTS_HMAC": "incidents-hmac-key",
	}
	readFile := func(p string) ([]byte, error) {
		if strings.HasSuffix(p, "secrets/mattermost-ops-url") {
			return []byte("https://mattermost.example.com/hooks/mm-token-123\n"), nil
		}
		return os.ReadFile(p)
	}
	kinds := config.NewKinds(Kind{})
	f, err := config.Load("../../../examples/webhook.yml", kinds, func(k string) string { return env[k] }, readFile)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	for _, name := range []string{"slack-ops", "mattermost-ops", "teams-ops", "internal"} {
		if s := f.Senders[name]; s == nil || s.Kind.Name() != Name {
			t.Errorf("sender %s missing", name)
		}
	}
	if h := f.Senders["teams-ops"].Host; h != "prod-01.westus.logic.azure.com:443" {
		t.Errorf("teams-ops host %q", h)
	}
	tmpl, err := templates.New(nil, f.Templates...)
	if err != nil {
		t.Fatal(err)
	}
	for _, tg := range f.Routes["ops"].Targets {
		if tg.Template != "" {
			if err := tmpl.Check(tg.Kind.Notation(), tg.Kind.Name(), tg.Template); err != nil {
				t.Errorf("target %s: %v", tg.Sender, err)
			}
		}
	}
}
