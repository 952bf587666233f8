package chatworktest

import (
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Message is a message in a room as the fake keeps it.
type Message struct {
	ID string
	// Body is the message as it reads now, after any edits.
	Body string
	// History holds the bodies the message had before each edit, oldest
	// first; empty when it was never edited.
	History []string
	// ReplyTo is "{room_id}-{message_id}" when the message starts with a
	// reply tag ([rp aid={account_id} to={room_id}-{message_id}]), and
	// ReplyAccount that tag's aid; both empty otherwise. The fake accepts a
	// reply to any message, as Chatwork does.
	ReplyTo, ReplyAccount string
}

// Edited reports whether the message was edited.
func (m Message) Edited() bool { return len(m.History) > 0 }

// Task statuses, as Chatwork spells them.
const (
	TaskOpen = "open"
	TaskDone = "done"
)

// Task is a task in a room as the fake keeps it. Chatwork makes one task
// per account a request assigns.
type Task struct {
	ID   string
	Body string
	// Assignee is the account id the task is assigned to.
	Assignee string
	// Status is TaskOpen or TaskDone.
	Status string
	// LimitType is none, date or time; Limit the deadline, zero for none.
	LimitType string
	Limit     time.Time
	// At is when the task was created.
	At time.Time

	id int
}

// room is the state of one room: its post window, messages and tasks.
type room struct {
	window   window
	messages []*Message
	tasks    []*Task
}

// room returns the room id, creating its state. s.mu must be held.
func (s *Server) room(id string) *room {
	r := s.rooms[id]
	if r == nil {
		r = &room{window: window{span: s.opts.RoomWindow}}
		s.rooms[id] = r
	}
	return r
}

func (r *room) message(id string) *Message {
	for _, m := range r.messages {
		if m.ID == id {
			return m
		}
	}
	return nil
}

func (r *room) task(id string) *Task {
	for _, t := range r.tasks {
		if t.ID == id {
			return t
		}
	}
	return nil
}

// replyTag matches a reply tag at the start of a message.
var replyTag = regexp.MustCompile(`^\[rp aid=([0-9]+) to=([0-9]+-[0-9]+)\]`)

func (r *room) addMessage(id, body string) *Message {
	m := &Message{ID: id, Body: body}
	if sm := replyTag.FindStringSubmatch(body); sm != nil {
		m.ReplyAccount, m.ReplyTo = sm[1], sm[2]
	}
	r.messages = append(r.messages, m)
	return m
}

// addTasks adds one open task per account of the form's to_ids and
// returns their ids.
func (r *room) addTasks(s *Server, form url.Values, at time.Time) []int {
	get := form.Get
	lt := get("limit_type")
	if lt == "" {
		lt = "none"
	}
	var limit time.Time
	if secs, err := strconv.ParseInt(get("limit"), 10, 64); err == nil && lt != "none" {
		limit = time.Unix(secs, 0)
	}
	var ids []int
	for _, to := range strings.Split(get("to_ids"), ",") {
		s.lastTask++
		t := &Task{ID: strconv.Itoa(s.lastTask), Body: get("body"), Assignee: to, Status: TaskOpen,
			LimitType: lt, Limit: limit, At: at, id: s.lastTask}
		r.tasks = append(r.tasks, t)
		ids = append(ids, t.id)
	}
	return ids
}

// nextMessageID returns the id of a new message: the number of the request
// that posts it. s.mu must be held.
func (s *Server) nextMessageID() string { return strconv.Itoa(len(s.requests) + 1) }

func joinIDs(ids []int) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = strconv.Itoa(id)
	}
	return strings.Join(s, ",")
}

// Messages returns the messages of room as they read now, oldest first.
func (s *Server) Messages(room string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Message
	if r := s.rooms[room]; r != nil {
		for _, m := range r.messages {
			out = append(out, copyMessage(m))
		}
	}
	return out
}

// Message returns the message id of room, and whether there is one.
func (s *Server) Message(room, id string) (Message, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r := s.rooms[room]; r != nil {
		if m := r.message(id); m != nil {
			return copyMessage(m), true
		}
	}
	return Message{}, false
}

// DeleteMessage removes message id from room, as a member deleting it in
// Chatwork would: editing it then answers 404. It reports whether the
// message was there.
func (s *Server) DeleteMessage(room, id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.rooms[room]
	if r == nil {
		return false
	}
	i := slices.IndexFunc(r.messages, func(m *Message) bool { return m.ID == id })
	if i < 0 {
		return false
	}
	r.messages = slices.Delete(r.messages, i, i+1)
	s.notify()
	return true
}

// Tasks returns the tasks of room, oldest first.
func (s *Server) Tasks(room string) []Task {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Task
	if r := s.rooms[room]; r != nil {
		for _, t := range r.tasks {
			out = append(out, *t)
		}
	}
	return out
}

// Task returns the task id of room, and whether there is one.
func (s *Server) Task(room, id string) (Task, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r := s.rooms[room]; r != nil {
		if t := r.task(id); t != nil {
			return *t, true
		}
	}
	return Task{}, false
}

func copyMessage(m *Message) Message {
	c := *m
	c.History = slices.Clone(m.History)
	return c
}
