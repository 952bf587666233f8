package dispatcher

import (
	"context"
	"fmt"

	"github.com/relayhq/relay/internal/delivery"
	"github.com/relayhq/relay/internal/outbox"
)

// Follower is a Sender whose kind follows notification groups: a resolve
// that edits or replies to its firing message, a task made after a firing
// message and marked done on resolve. The kind writes what a message asks
// for (delivery.Message.Follow) at intake and keeps, per lane and group, a
// state of its own (which upstream message and task carry the group); the
// dispatcher plans each message's operations with it, paces, performs and
// settles them in the lane's order, and stores the states.
//
// A message that is neither Solo nor past Step 0 may be folded into a post
// with others: Plan must answer a post for it.
type Follower interface {
	Sender
	// Plan returns m's next operation (at m.Step), given the state of
	// m's group on m's lane ("" for none).
	Plan(m delivery.Message, state string) delivery.Op
	// Perform makes op's one upstream request with body (the claimed
	// messages' bodies, joined) to dest, classifying failures as Send
	// does.
	Perform(ctx context.Context, dest delivery.Destination, op delivery.Op, body string) (delivery.Receipt, error)
	// Done returns the state of m's group after op delivered m, its
	// answer rc (zero for a skipped op), and whether m has a further
	// operation. folded tells that the post carried other messages too.
	Done(m delivery.Message, state string, op delivery.Op, rc delivery.Receipt, folded bool) (next string, more bool)
	// Fallback is asked when op failed for m with e: true with the
	// group's new state when m is to be planned again at once, without
	// using up an attempt (an edit whose message is gone becomes a
	// reply); false leaves e to be settled as any failure. It must not
	// answer true twice in a row for the same step.
	Fallback(m delivery.Message, state string, op delivery.Op, e *delivery.Error) (next string, again bool)
}

// postOp is what a plain sender does with every claim.
var postOp = delivery.Op{Kind: delivery.OpPost, Room: true}

// plan is how a lane's next claim is made: its rules, the operation, and
// for a Follower the head it was planned for.
type plan struct {
	op   delivery.Op
	head int64
	step int
}

// planHead plans the lane's head for a Follower. A head without follow
// data is a post, claimed as a plain sender's; ok is false when the lane is
// empty.
func (d *Dispatcher) planHead(ctx context.Context, l *lane, f Follower) (plan, bool, error) {
	head, ok, err := d.store.Head(ctx, l.key)
	if err != nil || !ok {
		return plan{}, false, err
	}
	if head.Follow == "" && head.Step == 0 {
		return plan{op: postOp}, true, nil
	}
	states, err := d.store.GroupStates(ctx, l.key, followGroups([]delivery.Message{head}))
	if err != nil {
		return plan{}, false, fmt.Errorf("read group state: %w", err)
	}
	return plan{op: f.Plan(head, states[head.Group]), head: head.ID, step: head.Step}, true, nil
}

// followGroups are the groups of msgs whose state a Follower reads: those
// of messages with follow data.
func followGroups(msgs []delivery.Message) []string {
	var out []string
	seen := map[string]bool{}
	for _, m := range msgs {
		if followed(m) && m.Group != "" && !seen[m.Group] {
			seen[m.Group] = true
			out = append(out, m.Group)
		}
	}
	return out
}

// followed reports whether a Follower has anything to do with m beyond
// posting it.
func followed(m delivery.Message) bool { return m.Follow != "" || m.Step > 0 }

// progress is what a delivered (or skipped) operation leaves: the messages
// done, those with a further operation, and the group states changed, in
// the order of msgs.
func (d *Dispatcher) progress(l *lane, f Follower, op delivery.Op, msgs []delivery.Message, states map[string]string, rc delivery.Receipt) outbox.Progress {
	var p outbox.Progress
	if f == nil {
		p.Acked = ids(msgs)
		return p
	}
	changed := map[string]bool{}
	var order []string
	for _, m := range msgs {
		if !followed(m) {
			p.Acked = append(p.Acked, m.ID)
			continue
		}
		st := states[m.Group]
		next, more := f.Done(m, st, op, rc, len(msgs) > 1)
		if m.Group != "" && next != st {
			states[m.Group] = next
			if !changed[m.Group] {
				changed[m.Group] = true
				order = append(order, m.Group)
			}
		}
		if more {
			p.Next = append(p.Next, m.ID)
		} else {
			p.Acked = append(p.Acked, m.ID)
		}
	}
	for _, g := range order {
		p.States = append(p.States, outbox.GroupState{Lane: l.key, Group: g, State: states[g]})
	}
	return p
}
