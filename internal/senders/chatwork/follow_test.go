package chatwork_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/relayhq/relay/internal/alert"
	"github.com/relayhq/relay/internal/senders"
	"github.com/relayhq/relay/internal/senders/chatwork"
)

func follow(t *testing.T, body string) chatwork.Follow {
	t.Helper()
	tg, err := chatwork.Kind{}.DecodeFollowing(targetNode(t, "room: 42\n"+body))
	if err != nil {
		t.Fatalf("Target: %v", err)
	}
	f, ok := chatwork.FollowOf(tg)
	if !ok {
		t.Fatalf("FollowOf(%T) = false, want the chatwork target's", tg)
	}
	return f
}

func TestTargetOnResolve(t *testing.T) {
	t.Parallel()
	for body, want := range map[string]chatwork.OnResolve{
		"":                    chatwork.ResolvePost,
		"on_resolve: post\n":  chatwork.ResolvePost,
		"on_resolve: edit\n":  chatwork.ResolveEdit,
		"on_resolve: reply\n": chatwork.ResolveReply,
	} {
		if f := follow(t, body); f.OnResolve != want || f.Task != nil {
			t.Errorf("%q: Follow = %+v, want %s without a task", body, f, want)
		}
	}
	direct, err := chatwork.Kind{}.Direct("42", nil)
	if err != nil {
		t.Fatal(err)
	}
	if f, ok := chatwork.FollowOf(direct); !ok || f.OnResolve != chatwork.ResolvePost || f.Task != nil {
		t.Errorf("direct target: FollowOf = %+v, %v; want post without a task", f, ok)
	}
	if _, ok := chatwork.FollowOf(otherTarget{}); ok {
		t.Error("FollowOf accepted a target of another kind")
	}
}

// otherTarget is a target of some other kind.
type otherTarget struct{}

func (otherTarget) Resolve(*alert.Data) (string, string) { return "", "" }

func TestTargetTask(t *testing.T) {
	t.Parallel()
	firedAt := time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)
	firing := func(labels ...alert.KV) *alert.Data {
		d := &alert.Data{Status: alert.StatusFiring}
		for _, l := range labels {
			d.Alerts = append(d.Alerts, alert.Alert{Status: alert.StatusFiring, Labels: l})
		}
		return d
	}
	critical := alert.KV{"severity": "critical", "oncall": "3"}
	warning := alert.KV{"severity": "warning", "oncall": "4"}
	resolved := &alert.Data{Status: alert.StatusResolved, Alerts: alert.Alerts{{Status: alert.StatusResolved, Labels: critical}}}
	mixed := &alert.Data{Status: alert.StatusFiring, Alerts: alert.Alerts{
		{Status: alert.StatusResolved, Labels: alert.KV{"oncall": "3"}}, {Status: alert.StatusFiring, Labels: alert.KV{"oncall": "4"}},
	}}
	tests := []struct {
		name, task string
		d          *alert.Data
		want       []string
		due        time.Time
		done       bool
	}{
		{"fixed ids, no deadline", "{to: [1111, 2222]}", firing(critical), []string{"1111", "2222"}, time.Time{}, false},
		{"a deadline and done on resolve", "{to: 1111, limit: 2h, done_on_resolve: true}", firing(critical), []string{"1111"}, firedAt.Add(2 * time.Hour), true},
		{"severity allowed", "{to: 1, when: {severity: [critical]}}", firing(critical), []string{"1"}, time.Time{}, false},
		{"severity not allowed", "{to: 1, when: {severity: [critical]}}", firing(warning), nil, time.Time{}, false},
		{"a resolve makes no task", "{to: 1}", resolved, nil, time.Time{}, false},
		{"from a label, allowed ones only", "{from_label: oncall, allow: [3]}", firing(critical, warning), []string{"3"}, time.Time{}, false},
		{"from a label, none allowed", "{from_label: oncall, allow: [5]}", firing(critical), nil, time.Time{}, false},
		{"from the firing alerts only", "{from_label: oncall, allow: [3, 4]}", mixed, []string{"4"}, time.Time{}, false},
		{"fixed and from a label, once each", "{to: [3], from_label: oncall, allow: [3, 4]}", firing(critical, warning), []string{"3", "4"}, time.Time{}, false},
		{"status firing is allowed", "{to: 1, when: {status: firing}}", firing(critical), []string{"1"}, time.Time{}, false},
		{"no alerts: the common labels", "{to: 1, when: {severity: critical}}", &alert.Data{Status: alert.StatusFiring, CommonLabels: critical}, []string{"1"}, time.Time{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := follow(t, "task: "+tt.task+"\n")
			if f.Task == nil {
				t.Fatal("Follow has no task")
			}
			if got := f.Task.Assignees(tt.d); !slices.Equal(got, tt.want) {
				t.Errorf("Assignees = %q, want %q", got, tt.want)
			}
			if got := f.Task.Due(firedAt); !got.Equal(tt.due) {
				t.Errorf("Due = %v, want %v", got, tt.due)
			}
			if f.Task.DoneOnResolve() != tt.done {
				t.Errorf("DoneOnResolve = %v, want %v", f.Task.DoneOnResolve(), tt.done)
			}
		})
	}
	// The target's mentions and its task are separate.
	tg, err := chatwork.Kind{}.DecodeFollowing(targetNode(t, "room: 42\nmentions: {to: 9}\non_resolve: edit\ntask: {to: 1}\n"))
	if err != nil {
		t.Fatal(err)
	}
	var _ senders.Target = tg
	if addr, prefix := tg.Resolve(firing(critical)); addr != "room/42" || prefix != "[To:9]\n" {
		t.Errorf("Resolve = %q, %q; want room/42 and the mention of 9", addr, prefix)
	}
}

func TestTargetFollowErrors(t *testing.T) {
	t.Parallel()
	const at = "routes.ops.targets[0]"
	tests := []struct {
		name, body string
		line       int
		path       string
		reason     string
	}{
		{"unknown on_resolve", "room: 1\non_resolve: delete\n", 6, at + ".on_resolve", `unknown on_resolve "delete": want post, edit or reply`},
		{"on_resolve a list", "room: 1\non_resolve: [edit]\n", 6, at + ".on_resolve", "want a single value, got a list"},
		{"task without assignees", "room: 1\ntask:\n  limit: 2h\n", 6, at + ".task", "a task needs to: or from_label: with allow:"},
		{"task id not digits", "room: 1\ntask:\n  to: [1, bob]\n", 7, at + ".task.to", `Chatwork account ids are digits, got "bob"`},
		{"task allow id not digits", "room: 1\ntask:\n  from_label: oncall\n  allow: [bob]\n", 8, at + ".task.allow", `Chatwork account ids are digits, got "bob"`},
		{"task from_label without allow", "room: 1\ntask:\n  from_label: oncall\n", 7, at + ".task.from_label", "from_label needs allow"},
		{"task bad label name", "room: 1\ntask:\n  from_label: on-call\n  allow: 1\n", 7, at + ".task.from_label", `invalid label name "on-call"`},
		{"task for resolved alerts", "room: 1\ntask:\n  to: 1\n  when:\n    status: [firing, resolved]\n", 9, at + ".task.when.status", "a task is made for firing alerts only"},
		{"task unknown status", "room: 1\ntask:\n  to: 1\n  when:\n    status: pending\n", 9, at + ".task.when.status", `unknown status "pending"`},
		{"task limit not a duration", "room: 1\ntask:\n  to: 1\n  limit: two hours\n", 8, at + ".task.limit", `want a duration such as 250ms, 10s or 5m, got "two hours"`},
		{"task limit zero", "room: 1\ntask:\n  to: 1\n  limit: 0s\n", 8, at + ".task.limit", "limit must be at least 1s after firing; omit it for no deadline"},
		{"task limit negative", "room: 1\ntask:\n  to: 1\n  limit: -1h\n", 8, at + ".task.limit", "limit must be at least 1s"},
		{"task done_on_resolve not a bool", "room: 1\ntask:\n  to: 1\n  done_on_resolve: sometimes\n", 8, at + ".task.done_on_resolve", `want true or false, got "sometimes"`},
		{"task unknown key", "room: 1\ntask:\n  to: 1\n  toall: true\n", 8, at + ".task.toall", "unknown key (want one of allow, done_on_resolve, from_label, limit, to, when)"},
		{"task a list", "room: 1\ntask: [1]\n", 6, at + ".task", "want a mapping, got a list"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tg, err := chatwork.Kind{}.DecodeFollowing(targetNode(t, tt.body))
			if err == nil {
				t.Fatalf("Target = %+v, want an error", tg)
			}
			wantError(t, err, tt.line, tt.path, tt.reason)
		})
	}
}

// TestTargetRefusesWhatIsNotFollowedYet: until the dispatcher edits,
// replies and makes tasks, a target asking for them is refused at load
// rather than silently posted to.
func TestTargetRefusesWhatIsNotFollowedYet(t *testing.T) {
	t.Parallel()
	refused := map[string]string{
		"room: 42\non_resolve: edit\n":  "on_resolve: edit is not available",
		"room: 42\non_resolve: reply\n": "on_resolve: reply is not available",
		"room: 42\ntask: {to: 1}\n":     "task: is not available",
	}
	k := chatwork.Kind{}
	for body, want := range refused {
		if _, err := k.Target(targetNode(t, body)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Target(%q) = %v, want an error containing %q", body, err, want)
		}
	}
	if _, err := k.Target(targetNode(t, "room: 42\non_resolve: post\n")); err != nil {
		t.Errorf("on_resolve: post: %v", err)
	}
}
