package intake_test

import (
	"context"
	"strings"
	"testing"

	"github.com/relayhq/relay/internal/intake"
	"github.com/relayhq/relay/internal/senders/chatwork"
)

const followRoutes = `
routes:
  ops:
    targets:
      - sender: chatwork
        room: "111"
        on_resolve: edit
        task: {to: ["1001"]}
      - sender: chatwork
        room: "222"
`

// TestAcceptStoresWhatTheTargetFollows: a message for a target that
// follows its group carries the group and what its kind asked for; a
// plain target's carries nothing.
func TestAcceptStoresWhatTheTargetFollows(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, followRoutes, nil)
	_, err := fx.p.Accept(context.Background(), intake.Request{Source: "alertmanager", Route: "ops",
		ContentType: "application/json", Body: amBody(t, map[string]string{"alertname": "Down"})})
	if err != nil {
		t.Fatalf("Accept: %v", err)
	}
	stored := fx.store.stored()
	if len(stored) != 1 || len(stored[0].Messages) != 2 {
		t.Fatalf("stored %+v, want one batch of two messages", stored)
	}
	for _, m := range stored[0].Messages {
		if m.Group != "{}:{}" {
			t.Errorf("%s: Group = %q, want the webhook's groupKey", m.Dest.Address, m.Group)
		}
		switch chatwork.Room(m.Dest.Address) {
		case "111":
			if !strings.Contains(m.Follow, `"status":"firing"`) || !strings.Contains(m.Follow, `"to":["1001"]`) || m.Solo {
				t.Errorf("followed target: Follow = %q, Solo = %v; want the firing and its task, not solo", m.Follow, m.Solo)
			}
		case "222":
			if m.Follow != "" || m.Solo {
				t.Errorf("plain target: Follow = %q, Solo = %v; want none", m.Follow, m.Solo)
			}
		}
	}
}
