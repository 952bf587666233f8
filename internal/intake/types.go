// Package intake is relay's ingest pipeline: it decodes a webhook, resolves
// its route to targets, renders one message per target and commits them to
// the outbox. The HTTP layer (handlers) and the CLI (render) both drive it.
package intake

import (
	"fmt"
	"net/http"
	"net/url"

	"github.com/relayhq/relay/internal/delivery"
)

// Request is one inbound webhook.
type Request struct {
	// Source is alertmanager, grafana or generic.
	Source string
	// Route names a route of the routes file; empty for a direct target.
	Route string
	// Direct is a target given in the URL (/v1/{source}/{kind}/{dest}).
	Direct *Direct
	// ContentType is the request's Content-Type header.
	ContentType string
	// Header is the request's headers (event-type headers of GitHub and
	// GitLab help the generic decoder); may be nil.
	Header http.Header
	// Body is the request body, already size-limited.
	Body []byte
}

// Direct is a target given in the URL instead of the routes file.
type Direct struct {
	// Kind names the sender kind, whose built-in sender posts.
	Kind string
	// Dest is the URL's last segment, which the kind reads as a
	// destination (a room id).
	Dest string
	// Query is the URL's query, which the kind may read too (?users=).
	Query url.Values
	// Template optionally names a custom template (?template=name).
	Template string
}

// Result is what an accepted webhook is answered with (202).
type Result struct {
	ID        string `json:"id"`
	Messages  int    `json:"messages"`
	Duplicate bool   `json:"duplicate"`
}

// Rendered is one message a preview would send.
type Rendered struct {
	Destination delivery.Destination `json:"destination"`
	Template    string               `json:"template"`
	Body        string               `json:"body"`
	// Line is the message's one-line form, which a storm post carries;
	// Tally counts its alerts for the storm post's heading.
	Line  string           `json:"line"`
	Tally []delivery.Count `json:"-"`
	// Fallback is set when the target's template failed and the built-in
	// default rendered the message; Error says why.
	Fallback bool   `json:"fallback,omitempty"`
	Error    string `json:"error,omitempty"`
	// Follow and Solo are what the target's kind asked to follow the
	// notification's group with (senders.Follows).
	Follow string `json:"-"`
	Solo   bool   `json:"-"`
}

// Code says what kind of failure an Error is; handlers map it to a status.
type Code int

// Error codes.
const (
	Invalid     Code = iota + 1 // 400: malformed or wrong-shaped payload
	NotFound                    // 404: unknown source, route or sender
	Unsupported                 // 415: unsupported content type
	Unavailable                 // 503: the outbox cannot take it now
	Internal                    // 500: a bug
)

// Error is a failure with a message fit to show the client.
type Error struct {
	Code Code
	Msg  string
	Err  error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %v", e.Msg, e.Err)
	}
	return e.Msg
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with a formatted message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Msg: fmt.Sprintf(format, args...)}
}
