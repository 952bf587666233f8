package intake_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/relayhq/relay/internal/delivery"
	"github.com/relayhq/relay/internal/intake"
	"github.com/relayhq/relay/internal/senders/chatmessenger"
	"github.com/relayhq/relay/internal/senders/chatwork"
)

// amBody is an Alertmanager webhook with one firing alert per label set.
func amBody(t *testing.T, labels ...map[string]string) []byte {
	t.Helper()
	type amAlert struct {
		Status      string            `json:"status"`
		Labels      map[string]string `json:"labels"`
		Annotations map[string]string `json:"annotations"`
		StartsAt    string            `json:"startsAt"`
		Fingerprint string            `json:"fingerprint"`
	}
	var alerts []amAlert
	for i, l := range labels {
		alerts = append(alerts, amAlert{Status: "firing", Labels: l,
			Annotations: map[string]string{"summary": l["alertname"] + " is firing"},
			StartsAt:    "2024-05-14T09:12:37Z", Fingerprint: strings.Repeat(string(rune('a'+i)), 16)})
	}
	b, err := json.Marshal(map[string]any{
		"version": "4", "status": "firing", "receiver": "relay", "groupKey": "{}:{}",
		"alerts": alerts, "groupLabels": map[string]string{}, "commonLabels": map[string]string{},
		"commonAnnotations": map[string]string{}, "externalURL": "http://am:9093",
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

const routingRoutes = `
routes:
  ops:
    targets:
      - sender: chatwork             # on-call room: critical only
        room: "111"
        matchers: ['severity="critical"']
        mentions: {to: ["1001"], from_label: chatwork_to, allow: ["2002"]}
      - sender: chatwork             # team room: everything, [toall] for critical
        room: "222"
        mentions: {toall: true, when: {severity: [critical]}}
      - sender: chatmessenger        # a room, users are mentions
        panel: ops-room
        users: [lead@example.com]
        mentions: {from_label: cam_users, allow: [sre@example.com]}
      - sender: chatmessenger        # a direct message
        panel: messenger
        users: [oncall@example.com]
        matchers: ['severity="critical"']
`

// sent is what one destination got from a webhook.
type sent struct {
	users []string
	body  string
}

// byDestination stores one webhook and returns its messages by lane.
func byDestination(t *testing.T, fx *fixture, body []byte) map[string]sent {
	t.Helper()
	res, err := fx.p.Accept(context.Background(), intake.Request{Source: "alertmanager", Route: "ops",
		ContentType: "application/json", Body: body})
	if err != nil {
		t.Fatalf("Accept: %v", err)
	}
	out := map[string]sent{}
	for _, b := range fx.store.stored() {
		for _, m := range b.Messages {
			var key string
			var users []string
			switch m.Dest.Sender {
			case chatwork.Name:
				key = chatwork.Room(m.Dest.Address)
			case chatmessenger.Name:
				d := chatmessenger.ParseAddress(m.Dest.Address)
				key, users = d.Panel, d.Users
			default:
				t.Fatalf("message for %+v, want one for chatwork or chatmessenger", m.Dest)
			}
			if _, dup := out[key]; dup {
				t.Fatalf("two messages for %s", key)
			}
			out[key] = sent{users: users, body: m.Body}
		}
	}
	if res.Messages != len(out) {
		t.Errorf("result says %d messages, store has %d", res.Messages, len(out))
	}
	return out
}

func TestAcceptRoutesAndMentions(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		labels []map[string]string
		// want maps destination (room or panel) to the start of its body and
		// its users; a destination not listed gets nothing.
		want map[string]sent
		// notIn maps a destination to text its body must not have.
		notIn map[string]string
	}{
		{
			name: "critical: mentions from the target and the allowed label ids only",
			labels: []map[string]string{{"alertname": "Down", "severity": "critical",
				"chatwork_to": "2002,3003", "cam_users": "sre@example.com, ceo@example.com"}},
			want: map[string]sent{
				"111":       {body: "[To:1001][To:2002]\n"},
				"222":       {body: "[toall]\n"},
				"ops-room":  {users: []string{"lead@example.com", "sre@example.com"}},
				"messenger": {users: []string{"oncall@example.com"}},
			},
			notIn: map[string]string{"111": "[To:3003]", "ops-room": "[To:"},
		},
		{
			name:   "warning: matchers keep it from the on-call targets, no [toall]",
			labels: []map[string]string{{"alertname": "Slow", "severity": "warning", "cam_users": "ceo@example.com"}},
			want: map[string]sent{
				"222":      {},
				"ops-room": {users: []string{"lead@example.com"}},
			},
			notIn: map[string]string{"222": "[toall]"},
		},
		{
			name: "mixed: the on-call room sees only the critical alert",
			labels: []map[string]string{
				{"alertname": "DiskFull", "severity": "critical"},
				{"alertname": "CertExpiring", "severity": "warning"},
			},
			want: map[string]sent{
				"111":       {body: "[To:1001]\n"},
				"222":       {body: "[toall]\n"},
				"ops-room":  {users: []string{"lead@example.com"}},
				"messenger": {users: []string{"oncall@example.com"}},
			},
			notIn: map[string]string{"111": "CertExpiring", "messenger": "CertExpiring"},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			fx := newFixture(t, routingRoutes, nil)
			got := byDestination(t, fx, amBody(t, c.labels...))
			for dest, w := range c.want {
				g, ok := got[dest]
				if !ok {
					t.Errorf("%s got no message, want one", dest)
					continue
				}
				if !strings.HasPrefix(g.body, w.body) {
					t.Errorf("%s body starts %q, want prefix %q", dest, head(g.body), w.body)
				}
				if !slices.Equal(g.users, w.users) {
					t.Errorf("%s users = %v, want %v", dest, g.users, w.users)
				}
			}
			for dest := range got {
				if _, ok := c.want[dest]; !ok {
					t.Errorf("%s got a message, want none:\n%s", dest, got[dest].body)
				}
			}
			for dest, s := range c.notIn {
				if strings.Contains(got[dest].body, s) {
					t.Errorf("%s body contains %q:\n%s", dest, s, got[dest].body)
				}
			}
		})
	}
}

// TestAcceptNoTargetSelected: a webhook no target wants is answered
// without storing anything.
func TestAcceptNoTargetSelected(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, `
routes:
  ops:
    targets:
      - {sender: chatwork, room: "111", matchers: ['severity="critical"']}
`, nil)
	res, err := fx.p.Accept(context.Background(), intake.Request{Source: "alertmanager", Route: "ops",
		ContentType: "application/json", Body: amBody(t, map[string]string{"alertname": "Slow", "severity": "info"})})
	if err != nil {
		t.Fatalf("Accept: %v", err)
	}
	if res.ID == "" || res.Messages != 0 || res.Duplicate {
		t.Errorf("result = %+v, want an id and 0 messages", res)
	}
	if n := len(fx.store.stored()); n != 0 {
		t.Errorf("stored %d batches, want none", n)
	}
}

// TestAcceptDirectTarget: a target from the URL goes to the built-in sender
// with the users (comma-separated, the parameter repeated) normalised.
func TestAcceptDirectTarget(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, "", nil)
	res, err := fx.p.Accept(context.Background(), intake.Request{Source: "alertmanager",
		Direct: &intake.Direct{Kind: "chatmessenger", Dest: "messenger",
			Query: url.Values{"users": {"b@x, a@x", "b@x"}}},
		ContentType: "application/json", Body: payload(t, "alertmanager/firing.json")})
	if err != nil {
		t.Fatalf("Accept: %v", err)
	}
	b := fx.store.stored()
	if res.Messages != 1 || len(b) != 1 {
		t.Fatalf("result %+v, %d batches; want 1 message in 1 batch", res, len(b))
	}
	want := delivery.Destination{Sender: "chatmessenger",
		Address: chatmessenger.Dest{Panel: "messenger", Users: []string{"a@x", "b@x"}}.Address()}
	if got := b[0].Messages[0].Dest; got != want {
		t.Errorf("destination = %+v, want %+v", got, want)
	}
	if got := b[0].Messages[0].Route; got != "direct:chatmessenger" {
		t.Errorf("route = %q, want direct:chatmessenger", got)
	}
}

func head(s string) string {
	if len(s) > 60 {
		return s[:60] + "..."
	}
	return s
}

// TestSwap: after a reload swaps the snapshot in, requests see the new
// routes and auth, and no longer the old ones.
func TestSwap(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, "routes:\n  old:\n    targets: [{sender: chatwork, room: \"1\"}]\n", nil)
	fx.p.Swap(newSnapshot(t, "routes:\n  new:\n    auth: {bearer_token_env: OPS_TOKEN}\n    targets: [{sender: chatwork, room: \"2\"}]\n", nil))
	ctx := context.Background()
	var ie *intake.Error
	if _, err := fx.p.Accept(ctx, amRequest(t, "old", "alertmanager/firing.json")); !errors.As(err, &ie) || ie.Code != intake.NotFound {
		t.Errorf("Accept on the removed route: error %v, want code NotFound", err)
	}
	if res, err := fx.p.Accept(ctx, amRequest(t, "new", "alertmanager/firing.json")); err != nil || res.Messages != 1 {
		t.Errorf("Accept on the new route = %+v, %v; want 1 message", res, err)
	}
	if b := fx.store.stored(); len(b) != 1 || b[0].Messages[0].Dest.Address != chatwork.Address("2") {
		t.Errorf("stored %+v, want one message to room 2", b)
	}
	if a, err := fx.p.Auth("new"); err != nil || a.Bearer.Reveal() != "ops-token" {
		t.Errorf("Auth(new) = %v, want the new route's token", err)
	}
}
