package chatwork_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/relayhq/relay/internal/alert"
	"github.com/relayhq/relay/internal/senders"
	"github.com/relayhq/relay/internal/senders/chatwork"
)

func follow(t *testing.T, body string) chatwork.Follow {
	t.Helper()
	tg, err := chatwork.Kind{}.Target(targetNode(t, "room: 42\n"+body))
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
	tg, err := chatwork.Kind{}.Target(targetNode(t, "room: 42\nmentions: {to: 9}\non_resolve: edit\ntask: {to: 1}\n"))
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
			tg, err := chatwork.Kind{}.Target(targetNode(t, tt.body))
			if err == nil {
				t.Fatalf("Target = %+v, want an error", tg)
			}
			wantError(t, err, tt.line, tt.path, tt.reason)
		})
	}
}

// TestTargetFollows: what a target asks the Sender to do with each
// message of a group: nothing for a plain target; for a resolve that edits
// or replies, a message claimed alone; a task, with its assignees and
// deadline after the group fired, on the last part of a firing
// notification only; tasks to forget (or mark done) on a resolve's last
// part.
func TestTargetFollows(t *testing.T) {
	t.Parallel()
	now := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	started := time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)
	firing := &alert.Data{Status: alert.StatusFiring, GroupKey: "g",
		GroupLabels:       alert.KV{"alertname": "DiskFull"},
		CommonAnnotations: alert.KV{"summary": "disk [toall] full"},
		Alerts: alert.Alerts{
			{Status: alert.StatusFiring, StartsAt: started.Add(time.Minute), Labels: alert.KV{"alertname": "DiskFull", "oncall": "2222"}},
			{Status: alert.StatusFiring, StartsAt: started, Labels: alert.KV{"alertname": "DiskFull", "oncall": "3333"}},
		}}
	resolved := &alert.Data{Status: alert.StatusResolved, GroupKey: "g",
		Alerts: alert.Alerts{{Status: alert.StatusResolved, Labels: alert.KV{"alertname": "DiskFull"}}}}
	follows := func(body string) senders.Follows {
		t.Helper()
		tg, err := chatwork.Kind{}.Target(targetNode(t, "room: 42\n"+body))
		if err != nil {
			t.Fatalf("Target: %v", err)
		}
		f, ok := tg.(senders.Follows)
		if !ok {
			t.Fatalf("%T does not implement senders.Follows", tg)
		}
		return f
	}
	tests := []struct {
		name, body  string
		d           *alert.Data
		part, parts int
		want        string
		solo        bool
	}{
		{"plain target follows nothing", "", firing, 0, 1, "", false},
		{"plain target's resolve", "on_resolve: post\n", resolved, 0, 1, "", false},
		{"firing of an editing target", "on_resolve: edit\n", firing, 0, 1, `{"status":"firing"}`, false},
		{"resolve that edits is alone", "on_resolve: edit\n", resolved, 0, 1, `{"status":"resolved","on_resolve":"edit"}`, true},
		{"resolve that replies is alone", "on_resolve: reply\n", resolved, 0, 1, `{"status":"resolved","on_resolve":"reply"}`, true},
		{"firing with a task", "task: {to: 1111, from_label: oncall, allow: [2222], limit: 2h}\n", firing, 0, 1,
			`{"status":"firing","task":{"body":"FIRING: DiskFull (alertname=DiskFull)\ndisk ［toall] full","to":["1111","2222"],"limit":` +
				fmt.Sprint(started.Add(2*time.Hour).Unix()) + `}}`, false},
		{"task on the last part only", "task: {to: 1111}\n", firing, 0, 2, `{"status":"firing","parts":2}`, false},
		{"task on the last part", "task: {to: 1111}\n", firing, 1, 2,
			`{"status":"firing","parts":2,"part":1,"task":{"body":"FIRING: DiskFull (alertname=DiskFull)\ndisk ［toall] full","to":["1111"]}}`, false},
		{"no task when when does not match", "task: {to: 1111, when: {severity: [critical]}}\n", firing, 0, 1, `{"status":"firing"}`, false},
		{"resolve forgets the tasks", "task: {to: 1111}\n", resolved, 0, 1, `{"status":"resolved","on_resolve":"post","tasks":true}`, true},
		{"resolve marks them done", "on_resolve: edit\ntask: {to: 1111, done_on_resolve: true}\n", resolved, 0, 1,
			`{"status":"resolved","on_resolve":"edit","tasks":true,"done_on_resolve":true}`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, solo := follows(tt.body).Follow(tt.d, tt.part, tt.parts, now)
			if got != tt.want || solo != tt.solo {
				t.Errorf("Follow = %s, %v\nwant     %s, %v", got, solo, tt.want, tt.solo)
			}
		})
	}
}
