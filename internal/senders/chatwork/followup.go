package chatwork

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"

	"github.com/relayhq/relay/internal/delivery"
	"github.com/relayhq/relay/internal/senders/internal/upstream"
)

// ReasonNotFound is the Reason of a Permanent *delivery.Error from
// EditMessage or UpdateTaskStatus when Chatwork answers 404: the message or
// task (or its room) is gone, and a caller may post a reply instead.
const ReasonNotFound = "not_found"

// Account is the account a token belongs to, as GET /me tells it.
type Account struct {
	// ID is the account id, the aid of a reply to the account's messages.
	ID   string
	Name string
}

// EditMessage replaces the body of message messageID in room with PUT
// /rooms/{room_id}/messages/{message_id}. An edit counts toward the token's
// quota but not toward the room's post limit. Invalid ids or body fail as
// Permanent without a request; a 404 fails as Permanent with Reason
// ReasonNotFound. The receipt's MessageID is the edited message's id.
func (s *Sender) EditMessage(ctx context.Context, room, messageID, body string) (delivery.Receipt, error) {
	if err := checkPost(room, body); err != nil {
		return delivery.Receipt{}, err
	}
	if !digits(messageID) {
		return delivery.Receipt{}, badID("bad_message", messageID)
	}
	var res struct {
		MessageID json.RawMessage `json:"message_id"`
	}
	q, err := s.send(ctx, http.MethodPut, "rooms/"+room+"/messages/"+messageID, url.Values{"body": {body}}, &res)
	if err != nil {
		return delivery.Receipt{Quota: q}, notFound(err)
	}
	id := idString(res.MessageID)
	if id == "" {
		id = messageID
	}
	return delivery.Receipt{MessageID: id, Quota: q}, nil
}

// UpdateTaskStatus marks task taskID in room done, or open again, with PUT
// /rooms/{room_id}/tasks/{task_id}/status. Like an edit it counts toward
// the token's quota only. Invalid ids fail as Permanent without a request;
// a 404 fails as Permanent with Reason ReasonNotFound. The receipt's
// MessageID is the task's id.
func (s *Sender) UpdateTaskStatus(ctx context.Context, room, taskID string, done bool) (delivery.Receipt, error) {
	if !digits(room) {
		return delivery.Receipt{}, badID("bad_room", room)
	}
	if !digits(taskID) {
		return delivery.Receipt{}, badID("bad_task", taskID)
	}
	status := "open"
	if done {
		status = "done"
	}
	var res struct {
		TaskID json.RawMessage `json:"task_id"`
	}
	q, err := s.send(ctx, http.MethodPut, "rooms/"+room+"/tasks/"+taskID+"/status", url.Values{"body": {status}}, &res)
	if err != nil {
		return delivery.Receipt{Quota: q}, notFound(err)
	}
	id := idString(res.TaskID)
	if id == "" {
		id = taskID
	}
	return delivery.Receipt{MessageID: id, Quota: q}, nil
}

// Me returns the token's account with GET /me. A rejected token fails as
// Permanent with Status 401 (see BadToken); an answer without an account id
// fails as Permanent with Reason "bad_answer".
func (s *Sender) Me(ctx context.Context) (Account, error) {
	answer, _, err := s.do(ctx, http.MethodGet, "me", nil)
	if err != nil {
		return Account{}, err
	}
	var res struct {
		AccountID json.RawMessage `json:"account_id"`
		Name      string          `json:"name"`
	}
	_ = json.Unmarshal(answer, &res)
	a := Account{ID: idString(res.AccountID), Name: res.Name}
	if !digits(a.ID) {
		return Account{}, &delivery.Error{Class: delivery.Permanent, Reason: "bad_answer", Status: http.StatusOK,
			Answer: upstream.Truncate(s.scrub(string(answer)))}
	}
	return a, nil
}

// BadToken reports whether err is Chatwork refusing the token (401): the
// token is wrong or revoked, and no retry helps.
func BadToken(err error) bool {
	var e *delivery.Error
	return errors.As(err, &e) && e.Status == http.StatusUnauthorized
}

// ReplyBody returns body as a reply to message messageID in room, written by
// account accountID: "[rp aid={account_id} to={room_id}-{message_id}]",
// a newline, then body. The tag notifies accountID, so it must be added
// after DisarmMentions has run on the rendered body, as mentions are. When
// an id is not digits it returns body as it is: a tag from such ids would
// not be one.
func ReplyBody(accountID, room, messageID, body string) string {
	if !digits(accountID) || !digits(room) || !digits(messageID) {
		return body
	}
	return "[rp aid=" + accountID + " to=" + room + "-" + messageID + "]\n" + body
}

// notFound gives a 404 the Reason ReasonNotFound.
func notFound(err error) error {
	var e *delivery.Error
	if errors.As(err, &e) && e.Status == http.StatusNotFound {
		e.Reason = ReasonNotFound
	}
	return err
}

func badID(reason, id string) *delivery.Error {
	return &delivery.Error{Class: delivery.Permanent, Reason: reason, Answer: upstream.Truncate(id)}
}
