// Package delivery holds the types shared by everything that moves a rendered
// message to chat: where it goes (Destination), what is stored (Message), and
// how a sender reports the outcome of one upstream request (Receipt, Error).
// Senders, the outbox and the dispatcher all speak these types and do not
// know each other.
package delivery

import (
	"strings"
	"time"
	"unicode/utf16"
)

// Destination says where a message goes. Messages with the same Lane are
// delivered in order, one post at a time.
type Destination struct {
	// Sender is the name of a configured sender (a built-in one, named
	// like its kind, or one from the routes file).
	Sender string `json:"sender"`
	// Address is where the sender's kind delivers, in the kind's own terms
	// ("room/42" for a room); empty when the sender has one
	// destination only. The kind writes it, and reads it when it sends.
	Address string `json:"address,omitempty"`
}

// Lane returns the key of the FIFO lane the destination belongs to:
// the sender, then "/" and the address if there is one. Sender names hold
// no "/".
func (d Destination) Lane() string {
	if d.Address == "" {
		return d.Sender
	}
	return d.Sender + "/" + d.Address
}

// ParseLane returns the destination of a lane key.
func ParseLane(lane string) Destination {
	sender, address, _ := strings.Cut(lane, "/")
	return Destination{Sender: sender, Address: address}
}

// Message is one rendered message in the outbox.
type Message struct {
	// ID is assigned by the outbox; ordering by ID is FIFO order.
	ID   int64       `json:"id"`
	Dest Destination `json:"destination"`
	Body string      `json:"body"`
	// NotificationID is the id the webhook was answered with (202 {"id"}).
	NotificationID string `json:"notification_id"`
	// Source and Route name where the message came from (logs, metrics).
	Source string `json:"source"`
	Route  string `json:"route"`
	// Group is the notification group the message tells the state of
	// (Alertmanager's and Grafana's groupKey); empty for sources without
	// one. Messages of a group on one lane are its story, newest last.
	Group string `json:"group,omitempty"`
	// Follow is what the destination's kind needs to follow the group
	// with this message (edit the firing message on resolve, make a
	// task): written by the kind's target at intake, read by the kind's
	// poster, opaque to everything between. Empty for a plain post.
	Follow string `json:"follow,omitempty"`
	// Solo messages are claimed alone: never folded into a post with
	// others (a resolve that edits its firing message).
	Solo bool `json:"solo,omitempty"`
	// Step counts the operations of the message already done (the post of
	// a firing message whose task is still to be made); a message with
	// Step > 0 is claimed alone.
	Step int `json:"step,omitempty"`
	// CreatedAt is when the webhook was accepted.
	CreatedAt time.Time `json:"created_at"`
	// Attempts counts failed attempts that used up the retry budget
	// (rate-limited attempts do not count).
	Attempts int `json:"attempts"`
	// Line is the message's one-line form, which a storm post carries
	// instead of Body (see outbox.Claim). Every part of a message split in
	// parts has the line of the whole.
	Line string `json:"line,omitempty"`
	// Tally counts the alerts the message tells of, for the heading of a
	// storm post.
	Tally []Count `json:"tally,omitempty"`
}

// OneLine is the message's one-line form: Line, or for a message without
// one the first line of its body.
func (m Message) OneLine() string {
	if m.Line != "" {
		return m.Line
	}
	first, _, _ := strings.Cut(strings.TrimSpace(m.Body), "\n")
	return strings.TrimSpace(first)
}

// Count is how many alerts of one status, name and severity a message
// tells of. Name and Severity are written in the sender kind's notation
// (neutralised), as the message's text is.
type Count struct {
	Status   string `json:"status,omitempty"`
	Name     string `json:"name,omitempty"`
	Severity string `json:"severity,omitempty"`
	N        int    `json:"n"`
}

// Len is the length of s as upstream limits count it. It counts UTF-16 code
// units, which is never less than the number of characters, so a body
// within Len limits is within any character limit.
func Len(s string) int {
	n := 0
	for _, r := range s {
		if utf16.IsSurrogate(r) || r > 0xFFFF {
			n += 2
		} else {
			n++
		}
	}
	return n
}

// Truncate cuts s to at most n units as Len counts them, on a rune boundary.
func Truncate(s string, n int) string {
	if Len(s) <= n {
		return s
	}
	k := 0
	for i, r := range s {
		w := 1
		if r > 0xFFFF {
			w = 2
		}
		if k+w > n {
			return s[:i]
		}
		k += w
	}
	return s
}

// Quota is a token's request quota as the upstream last reported it
// (x-ratelimit-* headers). The zero value means unknown.
type Quota struct {
	Limit     int
	Remaining int
	Reset     time.Time
}

// Known reports whether the upstream reported a quota.
func (q Quota) Known() bool { return q.Limit > 0 || !q.Reset.IsZero() }

// Receipt is the outcome of a successful post.
type Receipt struct {
	// MessageID is the upstream's id of the posted message, if it gave one.
	MessageID string
	// Quota is the token's quota after the post, if the upstream reported it.
	Quota Quota
}
