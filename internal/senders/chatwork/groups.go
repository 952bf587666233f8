package chatwork

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/relayhq/relay/internal/alert"
	"github.com/relayhq/relay/internal/delivery"
	"github.com/relayhq/relay/internal/senders"
)

// followData is what a message of a followed group carries
// (delivery.Message.Follow), written at intake by the target and read by
// the Sender when it plans the message's operations.
type followData struct {
	// Status is the notification's status as the target saw it: firing
	// or resolved.
	Status string `json:"status"`
	// OnResolve is the target's on_resolve, for a resolve.
	OnResolve OnResolve `json:"on_resolve,omitempty"`
	// Parts is how many messages the notification was split into, when
	// more than one (an edit could replace only one of them), and Part
	// which of them this is, from 0.
	Parts int `json:"parts,omitempty"`
	Part  int `json:"part,omitempty"`
	// Task is the task to make after a firing message (its last part).
	Task *taskData `json:"task,omitempty"`
	// Tasks is set on a resolve (its last part) of a target with a task:
	// the group's tasks are forgotten, and marked done first when
	// DoneOnResolve is set.
	Tasks         bool `json:"tasks,omitempty"`
	DoneOnResolve bool `json:"done_on_resolve,omitempty"`
}

// taskData is a task to make: its body, assignees and deadline (Unix
// seconds, 0 for none).
type taskData struct {
	Body  string   `json:"body"`
	To    []string `json:"to"`
	Limit int64    `json:"limit,omitempty"`
}

var _ senders.Follows = target{}

// Follow implements senders.Follows: the part-th of the parts messages
// rendered for d carries what the Sender needs to follow d's group in the
// room. A target that neither edits nor replies on resolve nor makes tasks
// follows nothing. A resolve that edits or replies is claimed alone (it is
// no post to fold), and so is one of a target with tasks (see below).
func (t target) Follow(d *alert.Data, part, parts int, now time.Time) (string, bool) {
	f := t.following()
	if f.OnResolve == ResolvePost && f.Task == nil {
		return "", false
	}
	last := part == parts-1
	fd := followData{Status: d.Status}
	if parts > 1 {
		fd.Parts, fd.Part = parts, part
	}
	solo := false
	if d.Status == alert.StatusResolved {
		fd.OnResolve = f.OnResolve
		// Alone, a resolve is never folded into the post of its firing
		// message, whose task is still to be made after that post.
		solo = f.OnResolve != ResolvePost || f.Task != nil
		if f.Task != nil && last {
			fd.Tasks, fd.DoneOnResolve = true, f.Task.DoneOnResolve()
		}
	} else if f.Task != nil && last {
		if to := f.Task.Assignees(d); len(to) > 0 {
			fd.Task = &taskData{Body: taskBody(d), To: to}
			if due := f.Task.Due(firedAt(d, now)); !due.IsZero() {
				fd.Task.Limit = due.Unix()
			}
		}
	}
	b, err := json.Marshal(fd)
	if err != nil {
		return "", false
	}
	return string(b), solo
}

// firedAt is when d's group started firing: its earliest firing alert's
// StartsAt, or now when none says.
func firedAt(d *alert.Data, now time.Time) time.Time {
	var first time.Time
	for _, a := range d.Alerts.Firing() {
		if !a.StartsAt.IsZero() && (first.IsZero() || a.StartsAt.Before(first)) {
			first = a.StartsAt
		}
	}
	if first.IsZero() {
		return now
	}
	return first
}

// maxTaskBody bounds a task's body: a line or two, not a message.
const maxTaskBody = 1000

// taskBody is a task's text: the firing alerts' names and the group's
// labels, then the common summary, all neutralised: alert text never
// forms a tag.
func taskBody(d *alert.Data) string {
	var names []string
	for _, a := range d.Alerts.Firing() {
		if n := a.Labels["alertname"]; n != "" && !contains(names, n) {
			names = append(names, n)
		}
	}
	title := strings.Join(names, ", ")
	if title == "" {
		title = d.Title
	}
	if title == "" {
		title = "alert"
	}
	var b strings.Builder
	b.WriteString("FIRING: " + Neutralize(title))
	if len(d.GroupLabels) > 0 {
		b.WriteString(" (" + Neutralize(d.GroupLabels.SortedPairs().String()) + ")")
	}
	if s := d.CommonAnnotations["summary"]; s != "" {
		b.WriteString("\n" + Neutralize(s))
	}
	return delivery.Truncate(b.String(), maxTaskBody)
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// groupState is what the Sender remembers of a group in a room, as the
// outbox keeps it (outbox.GroupState).
type groupState struct {
	// Message is the id of the group's last firing message; "" for none.
	Message string `json:"message,omitempty"`
	// Shared is set when that message does not carry the group alone (it
	// was folded with others, or is one part of several): an edit would
	// overwrite the others, so a resolve replies instead.
	Shared bool `json:"shared,omitempty"`
	// Gone is set when an edit found the message deleted.
	Gone bool `json:"gone,omitempty"`
	// Resolved is set once a resolve followed the message: a second one
	// has nothing left to follow.
	Resolved bool `json:"resolved,omitempty"`
	// Tasks are the ids of the group's open tasks, made after a firing
	// message; while there are some, later firing messages make none.
	Tasks []string `json:"tasks,omitempty"`
}

func decodeState(s string) groupState {
	var st groupState
	if s != "" {
		_ = json.Unmarshal([]byte(s), &st)
	}
	return st
}

func (st groupState) encode() string {
	if st.Message == "" && len(st.Tasks) == 0 {
		return ""
	}
	b, _ := json.Marshal(st)
	return string(b)
}

// last reports whether the message is the notification's last part.
func (fd followData) last() bool { return fd.Part >= fd.Parts-1 }

// following returns what a message's Follow says; a message without one
// is a plain post.
func following(m delivery.Message) (followData, bool) {
	var fd followData
	if m.Follow == "" || json.Unmarshal([]byte(m.Follow), &fd) != nil {
		return followData{}, false
	}
	return fd, true
}
