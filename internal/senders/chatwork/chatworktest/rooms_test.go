package chatworktest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

func edit(room, id, body string) request {
	return request{method: http.MethodPut, path: "/rooms/" + room + "/messages/" + id, token: token, form: url.Values{"body": {body}}}
}

func taskStatus(room, id, status string) request {
	return request{method: http.MethodPut, path: "/rooms/" + room + "/tasks/" + id + "/status", token: token, form: url.Values{"body": {status}}}
}

func task(room, body, to string) request {
	return request{path: "/rooms/" + room + "/tasks", token: token, form: url.Values{"body": {body}, "to_ids": {to}}}
}

var me = request{method: http.MethodGet, path: "/me", token: token}

// TestFollowUpCallsRejectWhatChatworkRejects: edits, task status changes
// and /me are held to their method, fields and ids, and every request of
// a known token counts toward its quota.
func TestFollowUpCallsRejectWhatChatworkRejects(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		req    request
		status int
	}{
		{"edit", edit("1", "1", "resolved"), 200},
		{"edit with POST", request{path: "/rooms/1/messages/1", token: token, form: url.Values{"body": {"x"}}}, 405},
		{"edit without a token", request{method: http.MethodPut, path: "/rooms/1/messages/1", form: url.Values{"body": {"x"}}}, 401},
		{"edit an unknown message", edit("1", "99", "x"), 404},
		{"edit a message of another room", edit("2", "1", "x"), 404},
		{"edit in an unknown room", edit("7", "1", "x"), 404},
		{"edit a message id that is not a number", edit("1", "abc", "x"), 404},
		{"edit without body", request{method: http.MethodPut, path: "/rooms/1/messages/1", token: token, form: url.Values{"text": {"x"}}}, 400},
		{"edit as JSON", request{method: http.MethodPut, path: "/rooms/1/messages/1", token: token, contentType: "application/json", form: url.Values{"body": {"x"}}}, 400},
		{"edit with the token in the query", request{method: http.MethodPut, path: "/rooms/1/messages/1", token: token, query: "token=" + token, form: url.Values{"body": {"x"}}}, 400},
		{"task done", taskStatus("1", "1", "done"), 200},
		{"task reopened", taskStatus("1", "1", "open"), 200},
		{"task status with POST", request{path: "/rooms/1/tasks/1/status", token: token, form: url.Values{"body": {"done"}}}, 405},
		{"task status not done or open", taskStatus("1", "1", "finished"), 400},
		{"task status without body", request{method: http.MethodPut, path: "/rooms/1/tasks/1/status", token: token}, 400},
		{"unknown task", taskStatus("1", "99", "done"), 404},
		{"task path without status", request{method: http.MethodPut, path: "/rooms/1/tasks/1", token: token, form: url.Values{"body": {"done"}}}, 404},
		{"task with a time limit and no limit", request{path: "/rooms/1/tasks", token: token, form: url.Values{"body": {"x"}, "to_ids": {"7"}, "limit_type": {"time"}}}, 400},
		{"me", me, 200},
		{"me with POST", request{path: "/me", token: token}, 405},
		{"me with a bad token", request{method: http.MethodGet, path: "/me", token: "nope"}, 401},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			s := NewServer(t, Options{Tokens: []string{token}, Rooms: []string{"1", "2"}})
			// A message (id 1) in room 1 and a task (id 1) to edit.
			if a := do(t, s, message("1", "firing")); a.status != 200 {
				t.Fatalf("setup message: got %d (%s)", a.status, a.raw)
			}
			if a := do(t, s, task("1", "look", "7")); a.status != 200 {
				t.Fatalf("setup task: got %d (%s)", a.status, a.raw)
			}
			a := do(t, s, c.req)
			if a.status != c.status {
				t.Fatalf("got %d, want %d (%s)", a.status, c.status, a.raw)
			}
			if c.status != 200 && len(a.errors) == 0 {
				t.Errorf("answer %q has no errors list", a.raw)
			}
			if c.status != 401 {
				if got := a.header.Get("x-ratelimit-remaining"); got != "297" {
					t.Errorf("got remaining %q, want 297: every request of a known token counts", got)
				}
			}
			if got := len(s.Posts("1")); got != 2 {
				t.Errorf("got %d posts, want the 2 of the setup: no follow-up call is a post", got)
			}
		})
	}
}

func TestMeAnswersTheAccount(t *testing.T) {
	t.Parallel()
	s := NewServer(t, Options{Tokens: []string{token}, AccountID: 4242, AccountName: "relay bot"})
	a := do(t, s, me)
	var got struct {
		AccountID json.Number `json:"account_id"`
		Name      string      `json:"name"`
	}
	if err := json.Unmarshal([]byte(a.raw), &got); err != nil || a.status != 200 {
		t.Fatalf("got %d %q (%v), want 200 and the account", a.status, a.raw, err)
	}
	if got.AccountID != "4242" || got.Name != "relay bot" {
		t.Errorf("got account %s %q, want 4242 relay bot", got.AccountID, got.Name)
	}
	if d := NewServer(t, Options{Tokens: []string{token}}); !containsAll(do(t, d, me).raw, `"account_id":1000`, `"name":"relay"`) {
		t.Error("the default account is not 1000 relay")
	}
}

// TestRoomKeepsMessagesAndTasks: the fake remembers what a room holds, so
// that a test can say "one message, edited to resolved, and the task done".
func TestRoomKeepsMessagesAndTasks(t *testing.T) {
	t.Parallel()
	c := newClock()
	s := NewServer(t, Options{Tokens: []string{token}, Clock: c.Now})
	do(t, s, message("5", "FIRING"))
	fired := s.Posts("5")[0].ID
	limit := c.Now().Add(2 * time.Hour)
	a := do(t, s, request{path: "/rooms/5/tasks", token: token, form: url.Values{
		"body": {"look at it"}, "to_ids": {"11,12"}, "limit_type": {"time"}, "limit": {strconv.FormatInt(limit.Unix(), 10)},
	}})
	var created struct {
		TaskIDs []int `json:"task_ids"`
	}
	if err := json.Unmarshal([]byte(a.raw), &created); err != nil || len(created.TaskIDs) != 2 {
		t.Fatalf("got %q (%v), want two task ids: one per assignee", a.raw, err)
	}
	first := strconv.Itoa(created.TaskIDs[0])
	if got := s.Posts("5")[1]; got.Kind != KindTasks || got.ID != first+","+strconv.Itoa(created.TaskIDs[1]) {
		t.Errorf("task post recorded as %+v, want kind tasks with both ids", got)
	}
	for _, r := range []request{edit("5", fired, "RESOLVING"), edit("5", fired, "RESOLVED"), taskStatus("5", first, "done")} {
		if a := do(t, s, r); a.status != 200 {
			t.Fatalf("%s %s: got %d (%s)", r.method, r.path, a.status, a.raw)
		}
	}
	do(t, s, message("5", "[rp aid=1000 to=5-"+fired+"]\nreplying"))

	msgs := s.Messages("5")
	if len(msgs) != 2 {
		t.Fatalf("got %d messages, want 2", len(msgs))
	}
	m := msgs[0]
	if m.ID != fired || m.Body != "RESOLVED" || !m.Edited() || len(m.History) != 2 || m.History[0] != "FIRING" || m.History[1] != "RESOLVING" {
		t.Errorf("got %+v, want the firing message edited twice to RESOLVED", m)
	}
	if reply := msgs[1]; reply.ReplyTo != "5-"+fired || reply.ReplyAccount != "1000" || reply.Edited() {
		t.Errorf("got %+v, want a reply to 5-%s by 1000", reply, fired)
	}
	if got, ok := s.Message("5", fired); !ok || got.Body != "RESOLVED" {
		t.Errorf("Message(5, %s) = %+v, %v", fired, got, ok)
	}
	tasks := s.Tasks("5")
	if len(tasks) != 2 {
		t.Fatalf("got %d tasks, want 2", len(tasks))
	}
	for i, want := range []struct{ assignee, status string }{{"11", TaskDone}, {"12", TaskOpen}} {
		tk := tasks[i]
		if tk.Assignee != want.assignee || tk.Status != want.status || tk.Body != "look at it" ||
			tk.LimitType != "time" || !tk.Limit.Equal(limit) || !tk.At.Equal(c.Now()) {
			t.Errorf("task %d = %+v, want %s %s with the limit", i, tk, want.assignee, want.status)
		}
	}
	if got, ok := s.Task("5", first); !ok || got.Status != TaskDone {
		t.Errorf("Task(5, %s) = %+v, %v; want done", first, got, ok)
	}
	if _, ok := s.Task("6", first); ok {
		t.Error("a task of room 5 is found in room 6")
	}

	// Changing what was returned does not change the room.
	msgs[0].History[0] = "changed"
	if got, _ := s.Message("5", fired); got.History[0] != "FIRING" {
		t.Error("Messages returned the fake's own history")
	}

	if !s.DeleteMessage("5", fired) || s.DeleteMessage("5", fired) {
		t.Fatal("DeleteMessage did not delete the message exactly once")
	}
	if a := do(t, s, edit("5", fired, "again")); a.status != 404 {
		t.Errorf("edit of a deleted message: got %d, want 404", a.status)
	}
}

// TestOnlyNewPostsCountTowardTheRoomLimit: edits and task status changes
// spend the token's quota but not the room's 10 per 10 s; new tasks spend
// both, like messages.
func TestOnlyNewPostsCountTowardTheRoomLimit(t *testing.T) {
	t.Parallel()
	c := newClock()
	s := NewServer(t, Options{Tokens: []string{token}, RoomLimit: 2, TokenLimit: 12, Clock: c.Now})
	do(t, s, message("3", "a"))
	do(t, s, task("3", "t", "7"))
	if a := do(t, s, message("3", "b")); a.status != 429 {
		t.Fatalf("third post: got %d, want 429 (a task counts like a message)", a.status)
	}
	if a := do(t, s, task("3", "t2", "7")); a.status != 429 {
		t.Fatalf("second task: got %d, want 429", a.status)
	}
	msg, tk := s.Posts("3")[0].ID, s.Tasks("3")[0].ID
	for i := range 3 {
		if a := do(t, s, edit("3", msg, "e"+strconv.Itoa(i))); a.status != 200 {
			t.Fatalf("edit %d while the room is full: got %d (%s)", i, a.status, a.raw)
		}
		if a := do(t, s, taskStatus("3", tk, "done")); a.status != 200 {
			t.Fatalf("status change %d while the room is full: got %d (%s)", i, a.status, a.raw)
		}
	}
	if a := do(t, s, me); a.status != 200 || a.header.Get("x-ratelimit-remaining") != "1" {
		t.Fatalf("me: got %d remaining %s, want 200 remaining 1", a.status, a.header.Get("x-ratelimit-remaining"))
	}
	do(t, s, edit("3", msg, "last"))
	if a := do(t, s, me); a.status != 429 || a.header.Get("x-ratelimit-remaining") != "0" {
		t.Errorf("13th request: got %d remaining %s, want the token's 429", a.status, a.header.Get("x-ratelimit-remaining"))
	}
	if got := s.MaxInWindow("3", 10*time.Second); got != 2 {
		t.Errorf("MaxInWindow = %d, want 2", got)
	}
}

func TestWaitFor(t *testing.T) {
	t.Parallel()
	s := NewServer(t, Options{Tokens: []string{token}})
	done := func() bool {
		tasks := s.Tasks("1")
		return len(tasks) == 1 && tasks[0].Status == TaskDone
	}
	errs := make(chan error, 1)
	go func() {
		for _, r := range []request{task("1", "t", "7"), taskStatus("1", "1", "done")} {
			if status, err := send(s, r); err != nil || status != 200 {
				errs <- fmt.Errorf("%s %s: got %d, %v", r.method, r.path, status, err)
				return
			}
		}
		errs <- nil
	}()
	if !s.WaitFor(5*time.Second, done) {
		t.Fatal("WaitFor did not see the task done")
	}
	if err := <-errs; err != nil {
		t.Fatal(err)
	}
	if s.WaitFor(10*time.Millisecond, func() bool { return len(s.Messages("1")) > 0 }) {
		t.Error("WaitFor reported a message nobody posted")
	}
}

func containsAll(s string, parts ...string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}

// send makes a request from any goroutine and returns its status.
func send(s *Server, r request) (int, error) {
	if r.method == "" {
		r.method = http.MethodPost
	}
	req, err := http.NewRequest(r.method, s.URL()+r.path, strings.NewReader(r.form.Encode()))
	if err != nil {
		return 0, err
	}
	req.Header.Set("x-chatworktoken", r.token)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}
