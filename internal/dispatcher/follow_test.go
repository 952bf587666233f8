package dispatcher_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/relayhq/relay/internal/alert"
	"github.com/relayhq/relay/internal/delivery"
	"github.com/relayhq/relay/internal/dispatcher"
	"github.com/relayhq/relay/internal/outbox"
	"github.com/relayhq/relay/internal/senders"
	"github.com/relayhq/relay/internal/senders/chatwork"
	"github.com/relayhq/relay/internal/senders/chatwork/chatworktest"
	"github.com/relayhq/relay/internal/senders/senderstest"
)

// followTarget is a chatwork target of room with the keys body.
func followTarget(t *testing.T, room, body string) senders.Follows {
	t.Helper()
	tg, err := chatwork.Kind{}.Target(senderstest.Target(t, "chatwork", "room: "+room+"\n"+body))
	if err != nil {
		t.Fatalf("Target: %v", err)
	}
	return tg.(senders.Follows)
}

// notification is one alert of group g, firing or resolved.
func notification(g, status string) *alert.Data {
	return &alert.Data{Status: status, GroupKey: g, GroupLabels: alert.KV{"alertname": "Disk" + g},
		Alerts: alert.Alerts{{Status: status, Labels: alert.KV{"alertname": "Disk" + g}}}}
}

// notify enqueues, for each notification, the message the target would:
// its body, group and follow data.
func (r *rig) notify(t *testing.T, tg senders.Follows, room string, ds ...*alert.Data) {
	t.Helper()
	for _, d := range ds {
		follow, solo := tg.Follow(d, 0, 1, r.clock.Now())
		b := outbox.Batch{NotificationID: d.GroupKey + " " + d.Status, Messages: []delivery.Message{{
			Dest: delivery.Destination{Sender: "chatwork", Address: "room/" + room},
			Body: "[info]" + d.GroupKey + " " + d.Status + "[/info]", Group: d.GroupKey,
			Follow: follow, Solo: solo,
		}}}
		if _, err := r.store.Enqueue(context.Background(), b); err != nil {
			t.Fatal(err)
		}
	}
}

// drain advances the clock, while the supervisor and the lane sleep, until
// the outbox is empty.
func (r *rig) drain(t *testing.T) {
	t.Helper()
	dispatcher.Drive(t, r.clock, "the outbox to drain", func() int {
		if depth(t, r.store) > 0 {
			return 2
		}
		return 1
	}, func() bool { return depth(t, r.store) == 0 })
}

// kinds returns the kinds of the fake's requests to room, in order.
func kinds(f *chatworktest.Server, room string) []string {
	var out []string
	for _, p := range f.Requests() {
		if p.Room == room {
			out = append(out, p.Kind+" "+http.StatusText(p.Status))
		}
	}
	return out
}

func TestResolveEditsTheFiringMessageAndDoesItsTask(t *testing.T) {
	t.Parallel()
	r := newRig(t, chatworktest.Options{}, newFakeClock())
	tg := followTarget(t, "42", "on_resolve: edit\ntask: {to: 1111, done_on_resolve: true}\n")
	// The resolve is queued behind its firing before either is sent.
	r.notify(t, tg, "42", notification("g", alert.StatusFiring), notification("g", alert.StatusResolved))
	reg, stop := r.run(t, chatworkPolicy(), dispatcher.Options{})
	r.drain(t)
	stop()

	msgs := r.fake.Messages("42")
	if len(msgs) != 1 {
		t.Fatalf("room holds %d messages, want 1: %+v", len(msgs), msgs)
	}
	if m := msgs[0]; m.Body != "[info]g resolved[/info]" || len(m.History) != 1 || m.History[0] != "[info]g firing[/info]" {
		t.Errorf("message = %+v, want the firing edited into the resolve", m)
	}
	tasks := r.fake.Tasks("42")
	if len(tasks) != 1 || tasks[0].Assignee != "1111" || tasks[0].Status != chatworktest.TaskDone {
		t.Errorf("tasks = %+v, want one for 1111, done", tasks)
	}
	want := []string{"messages OK", "tasks OK", "message OK", "task_status OK"}
	if got := kinds(r.fake, "42"); !equal(got, want) {
		t.Errorf("requests = %q, want %q", got, want)
	}
	for op, n := range map[string]float64{"post": 1, "task": 1, "edit": 1, "task_done": 1, "reply": 0} {
		if got := dispatcher.Value(t, reg, "relay_upstream_operations_total", "sender", "chatwork", "op", op, "outcome", "success"); got != n {
			t.Errorf("relay_upstream_operations_total{op=%q,outcome=success} = %v, want %v", op, got, n)
		}
	}
	if got := dispatcher.Value(t, reg, "relay_messages_sent_total", "sender", "chatwork"); got != 2 {
		t.Errorf("relay_messages_sent_total = %v, want 2", got)
	}
}

func TestEditSpendsNoRoomSlot(t *testing.T) {
	t.Parallel()
	r := newRig(t, chatworktest.Options{RoomLimit: 1, RoomWindow: time.Minute}, newFakeClock())
	tg := followTarget(t, "42", "on_resolve: edit\n")
	r.notify(t, tg, "42", notification("g", alert.StatusFiring), notification("g", alert.StatusResolved),
		notification("h", alert.StatusFiring))
	p := chatworkPolicy()
	p.Destination = dispatcher.Limit{Count: 1, Per: time.Minute}
	p.MaxChars = 20 // no folding: each post carries one message
	_, stop := r.run(t, p, dispatcher.Options{})
	r.drain(t)
	stop()

	reqs := r.fake.Requests()
	if len(reqs) != 3 || reqs[1].Kind != chatworktest.KindMessage {
		t.Fatalf("requests = %+v, want post, edit, post", reqs)
	}
	if gap := reqs[1].At.Sub(reqs[0].At); gap >= p.Destination.Per {
		t.Errorf("the edit went %v after the post, want it not to wait for the room's slot", gap)
	}
	if gap := reqs[2].At.Sub(reqs[0].At); gap < p.Destination.Per {
		t.Errorf("the second post went %v after the first, want at least the room's window %v", gap, p.Destination.Per)
	}
	if n := r.fake.Count(http.StatusTooManyRequests); n != 0 {
		t.Errorf("got %d answers 429, want none", n)
	}
}

func TestResolveOfAFoldedFiringReplies(t *testing.T) {
	t.Parallel()
	r := newRig(t, chatworktest.Options{AccountID: 777}, newFakeClock())
	tg := followTarget(t, "42", "on_resolve: edit\n")
	r.notify(t, tg, "42", notification("g", alert.StatusFiring), notification("h", alert.StatusFiring))
	p := chatworkPolicy()
	p.Destination = dispatcher.Limit{Count: 1, Per: 10 * time.Second} // two queued, one slot: folded
	_, stop := r.run(t, p, dispatcher.Options{})
	r.drain(t)
	stop()
	r.notify(t, tg, "42", notification("g", alert.StatusResolved))
	_, stop = r.run(t, p, dispatcher.Options{})
	r.drain(t)
	stop()

	msgs := r.fake.Messages("42")
	if len(msgs) != 2 || msgs[0].Edited() {
		t.Fatalf("room = %+v, want the folded firing untouched and a reply", msgs)
	}
	if msgs[1].ReplyTo != "42-"+msgs[0].ID || msgs[1].ReplyAccount != "777" {
		t.Errorf("resolve = %+v, want a reply from 777 to 42-%s", msgs[1], msgs[0].ID)
	}
}

func TestEditOfADeletedMessageReplies(t *testing.T) {
	t.Parallel()
	r := newRig(t, chatworktest.Options{}, newFakeClock())
	tg := followTarget(t, "42", "on_resolve: edit\n")
	r.notify(t, tg, "42", notification("g", alert.StatusFiring))
	p := chatworkPolicy()
	_, stop := r.run(t, p, dispatcher.Options{})
	r.drain(t)
	stop()
	firing := r.fake.Messages("42")[0]
	if !r.fake.DeleteMessage("42", firing.ID) {
		t.Fatal("DeleteMessage: no such message")
	}
	r.notify(t, tg, "42", notification("g", alert.StatusResolved))
	reg, stop := r.run(t, p, dispatcher.Options{})
	r.drain(t)
	stop()

	msgs := r.fake.Messages("42")
	if len(msgs) != 1 || msgs[0].ReplyTo != "42-"+firing.ID || msgs[0].Body == "" {
		t.Fatalf("room = %+v, want the resolve as a reply to the deleted %s", msgs, firing.ID)
	}
	if got := dispatcher.Value(t, reg, "relay_upstream_operations_total", "sender", "chatwork", "op", "edit", "outcome", "permanent"); got != 1 {
		t.Errorf("edits failed = %v, want 1", got)
	}
	if dead, err := r.store.DeadLetters(context.Background(), 0); err != nil || len(dead) != 0 {
		t.Errorf("dead letters = %+v, %v; want none", dead, err)
	}
}

func TestFailedEditIsRetriedAndAPermanentTaskFailureDeadLettered(t *testing.T) {
	t.Parallel()
	r := newRig(t, chatworktest.Options{}, newFakeClock())
	tg := followTarget(t, "42", "on_resolve: edit\ntask: {to: 1111}\n")
	r.notify(t, tg, "42", notification("g", alert.StatusFiring))
	p := chatworkPolicy()
	_, stop := r.run(t, p, dispatcher.Options{})
	r.drain(t)
	stop()
	r.fake.FailNext(1, http.StatusServiceUnavailable)
	r.notify(t, tg, "42", notification("g", alert.StatusResolved))
	reg, stop := r.run(t, p, dispatcher.Options{})
	r.drain(t)
	stop()
	if got := dispatcher.Value(t, reg, "relay_upstream_operations_total", "sender", "chatwork", "op", "edit", "outcome", "retryable"); got != 1 {
		t.Errorf("edits retried = %v, want 1", got)
	}
	if msgs := r.fake.Messages("42"); len(msgs) != 1 || msgs[0].Body != "[info]g resolved[/info]" {
		t.Errorf("room = %+v, want the firing edited after the retry", msgs)
	}

	// A task Chatwork refuses for good (400) is a dead letter at its step.
	// Here k's firing message was posted (step 0 done) before the run.
	r.notify(t, tg, "42", notification("k", alert.StatusFiring))
	c, err := r.store.Claim(context.Background(), outbox.ClaimRequest{Lane: "chatwork/room/42", Lease: time.Minute})
	if err != nil || len(c.Messages) != 1 {
		t.Fatalf("Claim = %+v, %v", c, err)
	}
	if err := r.store.Progress(context.Background(), outbox.Progress{Next: []int64{c.Messages[0].ID}}); err != nil {
		t.Fatal(err)
	}
	r.fake.FailNext(1, http.StatusBadRequest)
	_, stop = r.run(t, p, dispatcher.Options{})
	r.drain(t)
	stop()
	dead, err := r.store.DeadLetters(context.Background(), 0)
	if err != nil || len(dead) != 1 || dead[0].Step != 1 || dead[0].Reason != "http_400" {
		t.Fatalf("dead letters = %+v, %v; want k's message at step 1 (its task)", dead, err)
	}
	if reqs := kinds(r.fake, "42"); reqs[len(reqs)-1] != "tasks Bad Request" {
		t.Errorf("requests = %q, want the last a refused task", reqs)
	}
}

func equal(a, b []string) bool {
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
