package chatwork

import (
	"testing"

	"github.com/relayhq/relay/internal/delivery"
)

// story runs messages through Plan and Done as the dispatcher does, each
// alone, with a receipt of id n for the n-th request, and returns the ops
// performed (skipped ones in parentheses) and the final state.
func story(t *testing.T, follows ...string) ([]string, string) {
	t.Helper()
	s := &Sender{}
	var ops []string
	state, n := "", 0
	for _, f := range follows {
		m := delivery.Message{Follow: f}
		for more := true; more; m.Step++ {
			op := s.Plan(m, state)
			var rc delivery.Receipt
			if op.Skip {
				ops = append(ops, "("+op.Kind+")")
			} else {
				n++
				rc.MessageID = string(rune('0' + n))
				ops = append(ops, op.Kind)
			}
			state, more = s.Done(m, state, op, rc, false)
			if m.Step > 5 {
				t.Fatal("no end to the steps")
			}
		}
	}
	return ops, state
}

func TestPlanFollowsTheGroup(t *testing.T) {
	t.Parallel()
	const (
		firingTask = `{"status":"firing","task":{"body":"t","to":["1"]}}`
		firing     = `{"status":"firing"}`
		edit       = `{"status":"resolved","on_resolve":"edit"}`
		editDone   = `{"status":"resolved","on_resolve":"edit","tasks":true,"done_on_resolve":true}`
		postForget = `{"status":"resolved","on_resolve":"post","tasks":true}`
		reply      = `{"status":"resolved","on_resolve":"reply"}`
		splitEdit  = `{"status":"resolved","on_resolve":"edit","parts":2,"part":1}`
		splitFire0 = `{"status":"firing","parts":2}`
		splitFire1 = `{"status":"firing","parts":2,"part":1}`
	)
	tests := []struct {
		name    string
		follows []string
		want    []string
	}{
		{"a resolve with nothing to follow is posted", []string{edit}, []string{"post"}},
		{"firing, task, edit, task done", []string{firingTask, editDone}, []string{"post", "task", "edit", "task_done"}},
		{"a repeat firing makes no second task", []string{firingTask, firingTask, editDone},
			[]string{"post", "task", "post", "(task)", "edit", "task_done"}},
		{"a task forgotten on resolve is made again on the next firing", []string{firingTask, postForget, firingTask},
			[]string{"post", "task", "post", "post", "task"}},
		{"a second resolve is posted", []string{firing, edit, edit}, []string{"post", "edit", "post"}},
		{"reply", []string{firing, reply}, []string{"post", "reply"}},
		{"a resolve in parts replies", []string{firing, splitEdit}, []string{"post", "reply"}},
		{"a firing in parts is answered by a reply", []string{splitFire0, splitFire1, edit}, []string{"post", "post", "reply"}},
		{"refiring after a resolve is followed again", []string{firing, edit, firing, edit}, []string{"post", "edit", "post", "edit"}},
		{"done on resolve without a task", []string{firing, editDone}, []string{"post", "edit"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, _ := story(t, tt.follows...)
			if !equalStrings(got, tt.want) {
				t.Errorf("ops = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestPlanFolded: a firing message folded with others is answered by a
// reply; the edit of one that is gone falls back to a reply too.
func TestPlanFolded(t *testing.T) {
	t.Parallel()
	s := &Sender{}
	fire := delivery.Message{Follow: `{"status":"firing"}`}
	resolve := delivery.Message{Follow: `{"status":"resolved","on_resolve":"edit"}`}
	state, _ := s.Done(fire, "", postOp, delivery.Receipt{MessageID: "9"}, true)
	if op := s.Plan(resolve, state); op.Kind != delivery.OpReply || op.Data.(opData).MessageID != "9" || !op.Room {
		t.Errorf("Plan after a folded firing = %+v, want a reply to 9 that spends a room slot", op)
	}
	state, _ = s.Done(fire, "", postOp, delivery.Receipt{MessageID: "9"}, false)
	op := s.Plan(resolve, state)
	if op.Kind != delivery.OpEdit || op.Room {
		t.Fatalf("Plan = %+v, want an edit that spends no room slot", op)
	}
	state, again := s.Fallback(resolve, state, op, &delivery.Error{Class: delivery.Permanent, Reason: ReasonNotFound, Status: 404})
	if !again {
		t.Fatal("Fallback of a 404 edit = false, want a reply planned")
	}
	if op := s.Plan(resolve, state); op.Kind != delivery.OpReply {
		t.Errorf("Plan after the fallback = %+v, want a reply", op)
	}
	if _, again := s.Fallback(resolve, state, op, &delivery.Error{Class: delivery.Permanent, Status: 401}); again {
		t.Error("Fallback of a refused token = true, want it settled as usual")
	}
	if _, again := s.Fallback(resolve, state, op, &delivery.Error{Class: delivery.Retryable, Reason: "http_503"}); again {
		t.Error("Fallback of a retryable failure = true, want it retried")
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
