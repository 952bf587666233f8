package chatwork

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/relayhq/relay/internal/delivery"
	"github.com/relayhq/relay/internal/secret"
	"github.com/relayhq/relay/internal/senders/chatwork/chatworktest"
)

// captured is one request a test server saw.
type captured struct {
	method, path, contentType, token string
	form                             url.Values
}

// recorder answers every request with status and answer and keeps the last
// one.
func recorder(t *testing.T, status int, answer string) (*httptest.Server, *captured) {
	t.Helper()
	got := &captured{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		*got = captured{r.Method, r.URL.Path, r.Header.Get("Content-Type"), r.Header.Get("x-chatworktoken"), r.PostForm}
		w.WriteHeader(status)
		_, _ = w.Write([]byte(answer))
	}))
	t.Cleanup(srv.Close)
	return srv, got
}

func TestFollowUpRequests(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tests := []struct {
		name   string
		answer string
		call   func(*Sender) (string, error)
		want   captured
		id     string
	}{
		{"edit", `{"message_id":"1234"}`, func(s *Sender) (string, error) {
			rc, err := s.EditMessage(ctx, "7", "1234", "resolved & done")
			return rc.MessageID, err
		}, captured{http.MethodPut, "/v2/rooms/7/messages/1234", "application/x-www-form-urlencoded", token, url.Values{"body": {"resolved & done"}}}, "1234"},
		{"task done", `{"task_id":55}`, func(s *Sender) (string, error) {
			rc, err := s.UpdateTaskStatus(ctx, "7", "55", true)
			return rc.MessageID, err
		}, captured{http.MethodPut, "/v2/rooms/7/tasks/55/status", "application/x-www-form-urlencoded", token, url.Values{"body": {"done"}}}, "55"},
		{"task open", `{"task_id":55}`, func(s *Sender) (string, error) {
			rc, err := s.UpdateTaskStatus(ctx, "7", "55", false)
			return rc.MessageID, err
		}, captured{http.MethodPut, "/v2/rooms/7/tasks/55/status", "application/x-www-form-urlencoded", token, url.Values{"body": {"open"}}}, "55"},
		{"edit answered oddly keeps the id", `not json`, func(s *Sender) (string, error) {
			rc, err := s.EditMessage(ctx, "7", "99", "x")
			return rc.MessageID, err
		}, captured{http.MethodPut, "/v2/rooms/7/messages/99", "application/x-www-form-urlencoded", token, url.Values{"body": {"x"}}}, "99"},
		{"me", `{"account_id":4242,"name":"relay bot"}`, func(s *Sender) (string, error) {
			a, err := s.Me(ctx)
			return a.ID + " " + a.Name, err
		}, captured{http.MethodGet, "/v2/me", "", token, url.Values{}}, "4242 relay bot"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, got := recorder(t, http.StatusOK, tt.answer)
			id, err := tt.call(newSender(t, srv.URL+"/v2", nil))
			if err != nil {
				t.Fatal(err)
			}
			if id != tt.id {
				t.Errorf("got id %q, want %q", id, tt.id)
			}
			if got.method != tt.want.method || got.path != tt.want.path || got.contentType != tt.want.contentType ||
				got.token != tt.want.token || got.form.Encode() != tt.want.form.Encode() {
				t.Errorf("got request %+v, want %+v", *got, tt.want)
			}
		})
	}
}

func TestFollowUpRejectsBeforeAnyRequest(t *testing.T) {
	t.Parallel()
	fake := chatworktest.NewServer(t, chatworktest.Options{Tokens: []string{token}})
	s := newSender(t, fake.URL(), nil)
	ctx := context.Background()
	edit := func(room, id, body string) func() error {
		return func() error { _, err := s.EditMessage(ctx, room, id, body); return err }
	}
	status := func(room, id string) func() error {
		return func() error { _, err := s.UpdateTaskStatus(ctx, room, id, true); return err }
	}
	tests := []struct {
		name, reason string
		call         func() error
	}{
		{"edit: room not numeric", "bad_room", edit("abc", "1", "x")},
		{"edit: message id not numeric", "bad_message", edit("1", "1/../2", "x")},
		{"edit: no message id", "bad_message", edit("1", "", "x")},
		{"edit: empty body", "empty_body", edit("1", "1", "")},
		{"edit: body over 65535", "too_long", edit("1", "1", strings.Repeat("🔥", 32768))},
		{"status: room not numeric", "bad_room", status("", "1")},
		{"status: task id not numeric", "bad_task", status("1", "1,2")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := asError(t, tt.call())
			if e.Class != delivery.Permanent || e.Reason != tt.reason {
				t.Errorf("got %v %q, want permanent %q", e.Class, e.Reason, tt.reason)
			}
		})
	}
	if n := len(fake.Requests()); n != 0 {
		t.Errorf("got %d requests, want none", n)
	}
}

// TestEditAndTaskOnTheFake: a firing message and its task, then the
// resolve: the one message edited in place and the task done, with the
// room's post limit spent only by the posts.
func TestEditAndTaskOnTheFake(t *testing.T) {
	t.Parallel()
	fake := chatworktest.NewServer(t, chatworktest.Options{Tokens: []string{token}, Rooms: []string{"42"}, RoomLimit: 2})
	s := newSender(t, fake.URL(), nil)
	ctx := context.Background()
	fired, err := s.Send(ctx, room("42"), "[info]FIRING[/info]")
	if err != nil {
		t.Fatal(err)
	}
	tasks, err := s.AddTask(ctx, "42", "look at it", []string{"11", "12"}, now.Add(2*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	ids := strings.Split(tasks.MessageID, ",")
	if len(ids) != 2 {
		t.Fatalf("AddTask receipt %q, want two task ids", tasks.MessageID)
	}
	// The room is full now; edits and status changes still go through.
	rc, err := s.EditMessage(ctx, "42", fired.MessageID, "[info]RESOLVED[/info]")
	if err != nil {
		t.Fatalf("EditMessage: %v", err)
	}
	if rc.MessageID != fired.MessageID || rc.Quota.Remaining != 297 {
		t.Errorf("edit receipt %+v, want message %s and 297 requests left", rc, fired.MessageID)
	}
	for _, id := range ids {
		if _, err := s.UpdateTaskStatus(ctx, "42", id, true); err != nil {
			t.Fatalf("UpdateTaskStatus(%s): %v", id, err)
		}
	}

	msgs := fake.Messages("42")
	if len(msgs) != 1 || msgs[0].Body != "[info]RESOLVED[/info]" || !msgs[0].Edited() {
		t.Errorf("room holds %+v, want one message edited to resolved", msgs)
	}
	for _, tk := range fake.Tasks("42") {
		if tk.Status != chatworktest.TaskDone || !tk.Limit.Equal(now.Add(2*time.Hour)) {
			t.Errorf("task %+v, want done with the deadline", tk)
		}
	}
	if _, err := s.Send(ctx, room("42"), "third post"); asError(t, err).Class != delivery.RateLimited {
		t.Errorf("third post: got %v, want the room limit", err)
	}
}

func TestFollowUpClassifiesFailures(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tests := []struct {
		name     string
		opts     chatworktest.Options
		token    string
		setup    func(*chatworktest.Server)
		call     func(*Sender) error
		class    delivery.Class
		reason   string
		badToken bool
		wide     bool
	}{
		{name: "edit an unknown message", call: func(s *Sender) error { _, err := s.EditMessage(ctx, "1", "999", "x"); return err },
			class: delivery.Permanent, reason: ReasonNotFound},
		{name: "edit in an unknown room", opts: chatworktest.Options{Rooms: []string{"2"}},
			call:  func(s *Sender) error { _, err := s.EditMessage(ctx, "1", "1", "x"); return err },
			class: delivery.Permanent, reason: ReasonNotFound},
		{name: "unknown task", call: func(s *Sender) error { _, err := s.UpdateTaskStatus(ctx, "1", "999", true); return err },
			class: delivery.Permanent, reason: ReasonNotFound},
		{name: "edit with a bad token", token: "wrong", call: func(s *Sender) error { _, err := s.EditMessage(ctx, "1", "1", "x"); return err },
			class: delivery.Permanent, reason: "http_401", badToken: true},
		{name: "me with a bad token", token: "wrong", call: func(s *Sender) error { _, err := s.Me(ctx); return err },
			class: delivery.Permanent, reason: "http_401", badToken: true},
		{name: "me while chatwork fails", setup: func(f *chatworktest.Server) { f.FailNext(1, 503) },
			call: func(s *Sender) error { _, err := s.Me(ctx); return err }, class: delivery.Retryable, reason: "http_503"},
		{name: "me while chatwork is down", setup: func(f *chatworktest.Server) { f.SetDown(true) },
			call: func(s *Sender) error { _, err := s.Me(ctx); return err }, class: delivery.Retryable, reason: "transport"},
		{name: "status change while chatwork fails", setup: func(f *chatworktest.Server) { f.FailNext(1, 500) },
			call: func(s *Sender) error { _, err := s.UpdateTaskStatus(ctx, "1", "1", true); return err }, class: delivery.Retryable, reason: "http_500"},
		{name: "edit with the token spent", opts: chatworktest.Options{TokenLimit: 1},
			call: func(s *Sender) error {
				_, _ = s.Me(ctx)
				_, err := s.EditMessage(ctx, "1", "1", "x")
				return err
			}, class: delivery.RateLimited, reason: "http_429", wide: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.opts.Tokens = []string{token}
			fake := chatworktest.NewServer(t, tt.opts)
			s := newSender(t, fake.URL(), nil)
			if tt.token != "" {
				s.token = secret.New(tt.token)
			}
			if tt.setup != nil {
				tt.setup(fake)
			}
			err := tt.call(s)
			e := asError(t, err)
			if e.Class != tt.class || e.Reason != tt.reason || e.TokenWide != tt.wide {
				t.Errorf("got %v %q wide=%v, want %v %q wide=%v", e.Class, e.Reason, e.TokenWide, tt.class, tt.reason, tt.wide)
			}
			if BadToken(err) != tt.badToken {
				t.Errorf("BadToken = %v, want %v", BadToken(err), tt.badToken)
			}
		})
	}
}

func TestMe(t *testing.T) {
	t.Parallel()
	fake := chatworktest.NewServer(t, chatworktest.Options{Tokens: []string{token}, AccountID: 9876543210, AccountName: "relay bot"})
	a, err := newSender(t, fake.URL(), nil).Me(context.Background())
	if err != nil || a != (Account{ID: "9876543210", Name: "relay bot"}) {
		t.Errorf("Me = %+v, %v; want 9876543210 relay bot", a, err)
	}
	if got := fake.Requests(); len(got) != 1 || got[0].Kind != chatworktest.KindMe || got[0].Status != 200 {
		t.Errorf("requests %+v, want the one GET /me", got)
	}
	for _, answer := range []string{`{"name":"no id"}`, `{"account_id":"12a"}`, `<html>` + token + `</html>`} {
		srv, _ := recorder(t, http.StatusOK, answer)
		_, err := newSender(t, srv.URL, nil).Me(context.Background())
		e := asError(t, err)
		if e.Class != delivery.Permanent || e.Reason != "bad_answer" || BadToken(err) {
			t.Errorf("answer %q: got %v %q, want permanent bad_answer", answer, e.Class, e.Reason)
		}
		if strings.Contains(err.Error(), token) {
			t.Errorf("error %q holds the token", err)
		}
	}
}

func TestReplyBody(t *testing.T) {
	t.Parallel()
	tests := []struct {
		aid, room, msg, want string
	}{
		{"1000", "42", "1234567890123456789", "[rp aid=1000 to=42-1234567890123456789]\nresolved"},
		{"", "42", "7", "resolved"},
		{"1000", "42", "7]\n[toall", "resolved"},
		{"1000", "room/42", "7", "resolved"},
		{"1000", "42", "", "resolved"},
	}
	for _, tt := range tests {
		if got := ReplyBody(tt.aid, tt.room, tt.msg, "resolved"); got != tt.want {
			t.Errorf("ReplyBody(%q, %q, %q) = %q, want %q", tt.aid, tt.room, tt.msg, got, tt.want)
		}
	}

	fake := chatworktest.NewServer(t, chatworktest.Options{Tokens: []string{token}})
	s := newSender(t, fake.URL(), nil)
	fired, err := s.Send(context.Background(), room("42"), "FIRING")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Send(context.Background(), room("42"), ReplyBody("1000", "42", fired.MessageID, "RESOLVED")); err != nil {
		t.Fatal(err)
	}
	msgs := fake.Messages("42")
	if len(msgs) != 2 || msgs[1].ReplyTo != "42-"+fired.MessageID || msgs[1].ReplyAccount != "1000" {
		t.Errorf("room holds %+v, want the second message a reply to the first", msgs)
	}
}
