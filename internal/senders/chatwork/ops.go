package chatwork

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/relayhq/relay/internal/alert"
	"github.com/relayhq/relay/internal/delivery"
)

// opData is what a planned operation acts on.
type opData struct {
	// MessageID is the firing message an edit replaces or a reply
	// answers.
	MessageID string
	// TaskID is the task a task_done marks done.
	TaskID string
	// Task is the task to make.
	Task *taskData
}

// Plan implements the dispatcher's Follower: a message's first operation
// is its post, except a resolve whose target edits (the group's firing
// message, when it carries this group alone and the resolve fits in one
// message) or replies (to the firing message) on resolve; a resolve with
// no firing message to follow (none known, or followed already) is
// posted. After a firing message comes its task, unless the group has an
// open one; after a resolve, each of the group's tasks is marked done when
// the target says done_on_resolve.
func (s *Sender) Plan(m delivery.Message, state string) delivery.Op {
	fd, ok := following(m)
	if !ok {
		if m.Step > 0 {
			return delivery.Op{Kind: delivery.OpTask, Skip: true}
		}
		return postOp
	}
	st := decodeState(state)
	if m.Step == 0 {
		if fd.Status != alert.StatusResolved {
			return postOp
		}
		live := st.Message != "" && !st.Resolved
		switch {
		case fd.OnResolve == ResolveEdit && live && !st.Shared && !st.Gone && fd.Parts <= 1:
			return delivery.Op{Kind: delivery.OpEdit, Data: opData{MessageID: st.Message}}
		case (fd.OnResolve == ResolveEdit || fd.OnResolve == ResolveReply) && live:
			return delivery.Op{Kind: delivery.OpReply, Room: true, Data: opData{MessageID: st.Message}}
		}
		return postOp
	}
	if fd.Status != alert.StatusResolved {
		if fd.Task == nil || len(st.Tasks) > 0 {
			return delivery.Op{Kind: delivery.OpTask, Skip: true}
		}
		return delivery.Op{Kind: delivery.OpTask, Room: true, Data: opData{Task: fd.Task}}
	}
	if !fd.DoneOnResolve || len(st.Tasks) == 0 {
		return delivery.Op{Kind: delivery.OpTaskDone, Skip: true}
	}
	return delivery.Op{Kind: delivery.OpTaskDone, Data: opData{TaskID: st.Tasks[0]}}
}

var postOp = delivery.Op{Kind: delivery.OpPost, Room: true}

// Perform implements the dispatcher's Follower: one request for op. A
// reply that the tag would make too long is posted without it: a resolve
// is never cut.
func (s *Sender) Perform(ctx context.Context, dest delivery.Destination, op delivery.Op, body string) (delivery.Receipt, error) {
	room := Room(dest.Address)
	d, _ := op.Data.(opData)
	switch op.Kind {
	case delivery.OpEdit:
		return s.EditMessage(ctx, room, d.MessageID, body)
	case delivery.OpReply:
		a, err := s.account(ctx)
		if err != nil {
			return delivery.Receipt{}, err
		}
		if reply := ReplyBody(a.ID, room, d.MessageID, body); delivery.Len(reply) <= MaxBodyLen {
			body = reply
		}
		return s.Send(ctx, dest, body)
	case delivery.OpTask:
		if d.Task == nil {
			return delivery.Receipt{}, &delivery.Error{Class: delivery.Permanent, Reason: "no_task"}
		}
		var due time.Time
		if d.Task.Limit > 0 {
			due = time.Unix(d.Task.Limit, 0)
		}
		return s.AddTask(ctx, room, d.Task.Body, d.Task.To, due)
	case delivery.OpTaskDone:
		return s.UpdateTaskStatus(ctx, room, d.TaskID, true)
	}
	return s.Send(ctx, dest, body)
}

// Done implements the dispatcher's Follower: the group's state after op
// delivered m. A firing message becomes the group's message (the first
// part's, shared when folded or split), its task the group's open tasks; a
// resolve ends the following of the message, and forgets the tasks, once
// marked done if the target says so.
func (s *Sender) Done(m delivery.Message, state string, op delivery.Op, rc delivery.Receipt, folded bool) (string, bool) {
	fd, ok := following(m)
	if !ok {
		return state, false
	}
	st := decodeState(state)
	resolved := fd.Status == alert.StatusResolved
	switch {
	case m.Step == 0 && !resolved:
		if fd.Part == 0 {
			st.Message = rc.MessageID
		}
		st.Shared = folded || fd.Parts > 1
		st.Gone, st.Resolved = false, false
		return st.encode(), fd.Task != nil
	case m.Step == 0:
		if !fd.last() {
			return st.encode(), false
		}
		st.Resolved = true
		if fd.Tasks && !fd.DoneOnResolve {
			st.Tasks = nil
		}
		return st.encode(), fd.DoneOnResolve && len(st.Tasks) > 0
	case !resolved:
		if !op.Skip {
			st.Tasks = splitIDs(rc.MessageID)
		}
		return st.encode(), false
	}
	if d, _ := op.Data.(opData); !op.Skip {
		st.Tasks = slices.DeleteFunc(st.Tasks, func(id string) bool { return id == d.TaskID })
	} else {
		st.Tasks = nil
	}
	return st.encode(), len(st.Tasks) > 0
}

// Fallback implements the dispatcher's Follower: an edit that fails for
// good (the message is gone, 404, or may not be edited) marks the message
// gone, so the resolve is planned again as a reply; a task that is gone
// when it is to be marked done is forgotten. Anything else is settled as
// usual. A token that Chatwork refuses is no message's fault: it is
// settled as usual too.
func (s *Sender) Fallback(m delivery.Message, state string, op delivery.Op, e *delivery.Error) (string, bool) {
	if e.Class != delivery.Permanent || BadToken(e) {
		return state, false
	}
	st := decodeState(state)
	switch op.Kind {
	case delivery.OpEdit:
		st.Gone = true
		return st.encode(), true
	case delivery.OpTaskDone:
		var d opData
		if d, _ = op.Data.(opData); e.Reason != ReasonNotFound || !slices.Contains(st.Tasks, d.TaskID) {
			return state, false
		}
		st.Tasks = slices.DeleteFunc(st.Tasks, func(id string) bool { return id == d.TaskID })
		return st.encode(), true
	}
	return state, false
}

// splitIDs returns the comma-separated ids of AddTask's receipt.
func splitIDs(s string) []string {
	var out []string
	for _, id := range strings.Split(s, ",") {
		if id = strings.TrimSpace(id); id != "" {
			out = append(out, id)
		}
	}
	return out
}

// errBadToken says Chatwork refused the sender's token.
var errBadToken = errors.New("Chatwork refuses the token (401 Unauthorized): check the sender's token")
