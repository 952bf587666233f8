package intake_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/relayhq/relay/internal/delivery"
	"github.com/relayhq/relay/internal/intake"
	"github.com/relayhq/relay/internal/senders/chatmessenger"
	"github.com/relayhq/relay/internal/senders/chatwork"
)

// customTemplates are custom template files: one that works and one that
// parses but fails at render time (there is no sixth alert).
var customTemplates = map[string]string{
	"short.tmpl":  `{{ .Status | toUpper }}: {{ .CommonLabels.alertname }}`,
	"broken.tmpl": `{{ (index .Alerts 5).Labels.alertname }}`,
}

func TestAcceptCustomTemplateAndFallback(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name         string
		template     string
		wantBody     string // exact body; "" = see wantContains
		wantContains string
		wantFallback string // the fallback counter's exposition; "" = none counted
	}{
		{name: "custom template renders", template: "short", wantBody: "FIRING: HighErrorRate"},
		{name: "failing template falls back to the default", template: "broken",
			wantContains: "High 5xx error rate on checkout-api",
			wantFallback: `relay_template_fallbacks_total{template="broken"} 1`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			fx := newFixture(t, fmt.Sprintf(`
routes:
  ops:
    targets:
      - {sender: chatwork, room: "111", template: %s}
`, c.template), customTemplates)
			req := amRequest(t, "ops", "alertmanager/firing.json")
			res, err := fx.p.Accept(context.Background(), req)
			if err != nil {
				t.Fatalf("Accept: %v", err)
			}
			b := fx.store.stored()
			if res.Messages != 1 || len(b) != 1 || len(b[0].Messages) != 1 {
				t.Fatalf("result %+v with %d batches; want one message enqueued", res, len(b))
			}
			body := b[0].Messages[0].Body
			if c.wantBody != "" && body != c.wantBody {
				t.Errorf("body = %q, want %q", body, c.wantBody)
			}
			if !strings.Contains(body, c.wantContains) {
				t.Errorf("body does not contain %q:\n%s", c.wantContains, body)
			}
			want := ""
			if c.wantFallback != "" {
				want = "# HELP relay_template_fallbacks_total Messages rendered with the built-in template because the configured one failed.\n" +
					"# TYPE relay_template_fallbacks_total counter\n" + c.wantFallback + "\n"
			}
			if err := testutil.GatherAndCompare(fx.reg, strings.NewReader(want), "relay_template_fallbacks_total"); err != nil {
				t.Error(err)
			}
		})
	}
}

// TestPreviewShowsFallback: a preview says which template rendered each
// message and why the custom one was not used, and stores nothing.
func TestPreviewShowsFallback(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, `
routes:
  ops:
    targets:
      - {sender: chatwork, room: "111", template: broken}
      - {sender: chatmessenger, panel: ops-room, template: short}
`, customTemplates)
	msgs, err := fx.p.Preview(context.Background(), amRequest(t, "ops", "alertmanager/firing.json"))
	if err != nil {
		t.Fatalf("Preview: %v", err)
	}
	if len(msgs) != 2 {
		t.Fatalf("got %d messages, want 2", len(msgs))
	}
	cw, cam := msgs[0], msgs[1]
	if cw.Destination.Address != chatwork.Address("111") || cw.Template != "default" || !cw.Fallback || !strings.Contains(cw.Error, "index") {
		t.Errorf("chatwork preview = %+v; want room 111, template default, a fallback and an index error", cw)
	}
	if cam.Destination.Address != (chatmessenger.Dest{Panel: "ops-room"}).Address() || cam.Template != "short" || cam.Fallback || cam.Body != "FIRING: HighErrorRate" {
		t.Errorf("chatmessenger preview = %+v; want the short template's body", cam)
	}
	if n := len(fx.store.stored()); n != 0 {
		t.Errorf("Preview stored %d batches, want none", n)
	}
	if got := counterSum(t, fx.reg, "relay_messages_enqueued_total"); got != 0 {
		t.Errorf("relay_messages_enqueued_total = %v after a preview, want 0", got)
	}
}

// TestAcceptSplitsLongMessages: a message over the sender's max_chars is
// stored as numbered parts, each within the limit with its mention prefix,
// in order and with every alert somewhere.
func TestAcceptSplitsLongMessages(t *testing.T) {
	t.Parallel()
	const limit = 400
	fx := newFixture(t, fmt.Sprintf(`
senders:
  small:
    type: chatwork
    token_env: OPS_TOKEN
    max_chars: %d
routes:
  ops:
    targets:
      - sender: small
        room: "111"
        mentions: {to: ["1001"]}
`, limit), nil)
	res, err := fx.p.Accept(context.Background(), amRequest(t, "ops", "alertmanager/multi_firing.json"))
	if err != nil {
		t.Fatalf("Accept: %v", err)
	}
	b := fx.store.stored()
	if len(b) != 1 {
		t.Fatalf("stored %d batches, want 1", len(b))
	}
	msgs := b[0].Messages
	if len(msgs) < 2 || res.Messages != len(msgs) {
		t.Fatalf("result %+v with %d messages; want the message split into parts", res, len(msgs))
	}
	var all strings.Builder
	for i, m := range msgs {
		if n := delivery.Len(m.Body); n > limit {
			t.Errorf("part %d is %d characters, over the limit %d", i+1, n, limit)
		}
		want := fmt.Sprintf("[To:1001]\n(%d/%d) ", i+1, len(msgs))
		if !strings.HasPrefix(m.Body, want) {
			t.Errorf("part %d starts %q, want %q", i+1, head(m.Body), want)
		}
		if m.Dest != (delivery.Destination{Sender: "small", Address: chatwork.Address("111")}) {
			t.Errorf("part %d goes to %+v, want small room 111", i+1, m.Dest)
		}
		all.WriteString(m.Body)
	}
	for _, inst := range []string{"node-1.prod", "node-4.prod", "node-7.prod"} {
		if !strings.Contains(all.String(), inst) {
			t.Errorf("no part mentions %s", inst)
		}
	}
}

func TestAcceptDuplicate(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, `
routes:
  ops:
    targets: [{sender: chatwork, room: "111"}]
  team:
    targets: [{sender: chatwork, room: "222"}]
`, nil)
	ctx := context.Background()
	first, err := fx.p.Accept(ctx, amRequest(t, "ops", "alertmanager/firing.json"))
	if err != nil {
		t.Fatalf("first Accept: %v", err)
	}
	again, err := fx.p.Accept(ctx, amRequest(t, "ops", "alertmanager/firing.json"))
	if err != nil {
		t.Fatalf("second Accept: %v", err)
	}
	if want := (intake.Result{ID: first.ID, Duplicate: true}); again != want {
		t.Errorf("second result = %+v, want %+v", again, want)
	}
	other, err := fx.p.Accept(ctx, amRequest(t, "team", "alertmanager/firing.json"))
	if err != nil {
		t.Fatalf("Accept on another route: %v", err)
	}
	if other.Duplicate || other.ID == first.ID || other.Messages != 1 {
		t.Errorf("same payload on another route = %+v, want a new notification", other)
	}
	if n := len(fx.store.stored()); n != 2 {
		t.Errorf("stored %d batches, want 2", n)
	}
	if got := counterSum(t, fx.reg, "relay_webhooks_duplicate_total", "source", "alertmanager"); got != 1 {
		t.Errorf("relay_webhooks_duplicate_total = %v, want 1", got)
	}
	if got := counterSum(t, fx.reg, "relay_messages_enqueued_total", "sender", "chatwork"); got != 2 {
		t.Errorf("relay_messages_enqueued_total = %v, want 2", got)
	}
}

// TestAcceptDirectTargetsAreNotDuplicatesOfEachOther: the same payload sent
// to two direct targets of one sender (two Chatwork rooms, two
// Chat&Messenger panels) is two notifications, as with two routes; only a
// repeat to the same target is a duplicate.
func TestAcceptDirectTargetsAreNotDuplicatesOfEachOther(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, "", nil)
	ctx := context.Background()
	send := func(d intake.Direct) intake.Result {
		t.Helper()
		req := amRequest(t, "", "alertmanager/firing.json")
		req.Direct = &d
		res, err := fx.p.Accept(ctx, req)
		if err != nil {
			t.Fatalf("Accept to %+v: %v", d, err)
		}
		return res
	}
	cases := []struct {
		name    string
		direct  intake.Direct
		wantDup bool
	}{
		{"first chatwork room", intake.Direct{Kind: "chatwork", Dest: "1"}, false},
		{"second chatwork room", intake.Direct{Kind: "chatwork", Dest: "2"}, false},
		{"first room again", intake.Direct{Kind: "chatwork", Dest: "1"}, true},
		{"a chatmessenger room", intake.Direct{Kind: "chatmessenger", Dest: "ops"}, false},
		{"another chatmessenger room", intake.Direct{Kind: "chatmessenger", Dest: "dev"}, false},
		{"a direct message", intake.Direct{Kind: "chatmessenger", Dest: "messenger", Query: url.Values{"users": {"a@x"}}}, false},
		{"a direct message to someone else", intake.Direct{Kind: "chatmessenger", Dest: "messenger", Query: url.Values{"users": {"b@x"}}}, false},
	}
	for _, c := range cases { // in order: each case depends on the ones before
		if got := send(c.direct); got.Duplicate != c.wantDup {
			t.Errorf("%s: duplicate = %t, want %t", c.name, got.Duplicate, c.wantDup)
		}
	}
}

// TestJoinedAlertTextCannotMentionAnyone: each value is harmless alone,
// but a custom template joins two of them into "[toall]"; only the
// target's own mention prefix may notify anyone.
func TestJoinedAlertTextCannotMentionAnyone(t *testing.T) {
	t.Parallel()
	tmpls := map[string]string{"join.tmpl": `{{ define "join" }}{{ "[to" }}{{ "all]" }} {{ "[To:" }}{{ "99]" }}{{ end }}`}
	fx := newFixture(t, `
routes:
  ops:
    targets:
      - sender: chatwork
        room: "111"
        template: join
        mentions: {to: ["1234"]}
`, tmpls)
	if _, err := fx.p.Accept(context.Background(), amRequest(t, "ops", "alertmanager/firing.json")); err != nil {
		t.Fatalf("Accept: %v", err)
	}
	b := fx.store.stored()
	if len(b) != 1 || len(b[0].Messages) != 1 {
		t.Fatalf("got %d batches, want one message", len(b))
	}
	body := b[0].Messages[0].Body
	if want := "[To:1234]\n［toall] ［To:99]"; body != want {
		t.Errorf("body = %q, want %q", body, want)
	}
}
