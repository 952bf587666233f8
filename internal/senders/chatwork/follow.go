package chatwork

import (
	"slices"
	"time"

	"github.com/relayhq/relay/internal/alert"
	"github.com/relayhq/relay/internal/confyaml"
	"github.com/relayhq/relay/internal/senders"
)

// OnResolve is what a target does with a group's resolved notification.
type OnResolve string

// The values of a target's on_resolve.
const (
	// ResolvePost posts the resolve as a message of its own (the default).
	ResolvePost OnResolve = "post"
	// ResolveEdit edits the group's firing message into the resolve.
	ResolveEdit OnResolve = "edit"
	// ResolveReply posts the resolve as a reply to the firing message.
	ResolveReply OnResolve = "reply"
)

// Follow is how a target's room follows a notification group: what a
// resolve does, and the task a firing group gets.
type Follow struct {
	OnResolve OnResolve
	// Task is the task for firing groups; nil for none.
	Task *Task
}

// FollowOf returns the Follow of a chatwork target, and false for a
// target of another kind.
func FollowOf(t senders.Target) (Follow, bool) {
	ct, ok := t.(target)
	if !ok {
		return Follow{}, false
	}
	return ct.following(), true
}

// following returns the target's on_resolve and task; a target without
// them (a direct URL's) posts its resolves and makes no task.
func (t target) following() Follow {
	f := Follow{OnResolve: t.onResolve, Task: t.task}
	if f.OnResolve == "" {
		f.OnResolve = ResolvePost
	}
	return f
}

// Task is a target's task: whom a firing group's task is assigned to, when
// it is due, and whether a resolve marks it done.
type Task struct {
	to            []string
	rules         senders.MentionRules
	limit         time.Duration
	doneOnResolve bool
}

// Assignees returns the account ids a task for d is assigned to: the fixed
// ids, then the ids in the from_label label that allow lists, once each,
// taken from the firing alerts that when allows. It returns nil when d
// fires no such alert: no task then.
func (t *Task) Assignees(d *alert.Data) []string {
	var firing alert.Alerts
	for _, a := range t.rules.Active(d) {
		if a.Status == alert.StatusFiring {
			firing = append(firing, a)
		}
	}
	if len(firing) == 0 {
		return nil
	}
	ids := senders.Unique(append(slices.Clone(t.to), t.rules.FromLabelValues(firing)...))
	if len(ids) == 0 {
		return nil
	}
	return ids
}

// Due returns the deadline of a task for a group that fired at firedAt:
// firedAt plus the target's limit, or the zero time when it has none.
func (t *Task) Due(firedAt time.Time) time.Time {
	if t.limit <= 0 {
		return time.Time{}
	}
	return firedAt.Add(t.limit)
}

// Limit is how long after firing a task is due; 0 for no deadline.
func (t *Task) Limit() time.Duration { return t.limit }

// DoneOnResolve reports whether the group's resolve marks its task done.
func (t *Task) DoneOnResolve() bool { return t.doneOnResolve }

// taskOptions are the keys of a chatwork target's task:.
type taskOptions struct {
	// To are fixed Chatwork account ids.
	To                   confyaml.List `yaml:"to"`
	senders.MentionRules `yaml:",inline"`
	// Limit is how long after firing the task is due; absent for never.
	Limit         *confyaml.Duration `yaml:"limit"`
	DoneOnResolve bool               `yaml:"done_on_resolve"`
}

// decodeFollow checks and sets the target's on_resolve and task; n is the
// target.
func (t *target) decodeFollow(n confyaml.Node, onResolve string, o *taskOptions) error {
	switch r := OnResolve(onResolve); r {
	case "", ResolvePost, ResolveEdit, ResolveReply:
		t.onResolve = r
	default:
		return n.At("on_resolve").Errorf("unknown on_resolve %q: want post, edit or reply", onResolve)
	}
	if o == nil {
		return nil
	}
	tn := n.At("task")
	if err := o.Check(tn); err != nil {
		return err
	}
	if len(o.To) == 0 && o.FromLabel == "" {
		return tn.Errorf("a task needs to: or from_label: with allow: the accounts to assign it to")
	}
	if err := checkAccounts(tn, o.To, o.Allow); err != nil {
		return err
	}
	if slices.Contains(o.When.Status, alert.StatusResolved) {
		return tn.At("when").At("status").Errorf("a task is made for firing alerts only; when.status cannot be resolved")
	}
	task := &Task{to: o.To, rules: o.MentionRules, doneOnResolve: o.DoneOnResolve}
	if o.Limit != nil {
		if task.limit = time.Duration(*o.Limit); task.limit < time.Second {
			return tn.At("limit").Errorf("limit must be at least 1s after firing; omit it for no deadline")
		}
	}
	t.task = task
	return nil
}

// checkAccounts checks that the to and allow lists under n hold Chatwork
// account ids.
func checkAccounts(n confyaml.Node, to, allow []string) error {
	for _, l := range []struct {
		key string
		ids []string
	}{{"to", to}, {"allow", allow}} {
		for _, id := range l.ids {
			if !digits(id) {
				return n.At(l.key).Errorf("Chatwork account ids are digits, got %q", id)
			}
		}
	}
	return nil
}
