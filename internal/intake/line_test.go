package intake_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/relayhq/relay/internal/delivery"
)

// TestAcceptStoresTheOneLineForm: every message is stored with its line
// (the target's template.line, else the built-in one) and the tally of
// its alerts, so that a storm post can carry it later.
func TestAcceptStoresTheOneLineForm(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, `
routes:
  ops:
    targets:
      - {sender: chatwork, room: "1"}
      - {sender: chatwork, room: "2", template: ops}
      - {sender: chatwork, room: "3", template: broken}
`, map[string]string{
		"ops.tmpl":    `{{ define "ops" }}OPS {{ .Status }}{{ end }}{{ define "ops.line" }}ops: {{ .CommonLabels.alertname }} [toall]{{ end }}`,
		"broken.tmpl": `{{ define "broken" }}fine{{ end }}{{ define "broken.line" }}{{ (index .Alerts 5).Labels.x }}{{ end }}`,
	})
	if _, err := fx.p.Accept(context.Background(), amRequest(t, "ops", "alertmanager/firing.json")); err != nil {
		t.Fatalf("Accept: %v", err)
	}
	b := fx.store.stored()
	if len(b) != 1 || len(b[0].Messages) != 3 {
		t.Fatalf("got %d batches, want one of three messages", len(b))
	}
	builtin := "[FIRING:1] HighErrorRate (critical) service=checkout: High 5xx error rate on checkout-api"
	for i, want := range []string{builtin, "ops: HighErrorRate ［toall]", builtin} {
		if got := b[0].Messages[i].Line; got != want {
			t.Errorf("message %d: line %q, want %q", i, got, want)
		}
	}
	wantTally := []delivery.Count{{Status: "firing", Name: "HighErrorRate", Severity: "critical", N: 1}}
	if got := b[0].Messages[0].Tally; !slices.Equal(got, wantTally) {
		t.Errorf("tally %+v, want %+v", got, wantTally)
	}
	// The broken line fell back to the built-in one, and was counted.
	if err := testutil.GatherAndCompare(fx.reg, strings.NewReader(`# HELP relay_template_fallbacks_total Messages rendered with the built-in template because the configured one failed.
# TYPE relay_template_fallbacks_total counter
relay_template_fallbacks_total{template="broken"} 1
`), "relay_template_fallbacks_total"); err != nil {
		t.Error(err)
	}
}
