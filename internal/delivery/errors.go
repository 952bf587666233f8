package delivery

import (
	"errors"
	"fmt"
	"time"
)

// Class says what the dispatcher should do about a failed post.
type Class int

const (
	// Retryable failures (transport errors, 5xx) are retried with backoff
	// and use up attempts.
	Retryable Class = iota
	// Permanent failures (bad token, unknown room, 400) go to the dead
	// letters at once.
	Permanent
	// RateLimited failures (429, or a kind's own code) pause the room or the
	// token until Until and do not use up attempts.
	RateLimited
)

func (c Class) String() string {
	switch c {
	case Retryable:
		return "retryable"
	case Permanent:
		return "permanent"
	case RateLimited:
		return "rate_limited"
	}
	return fmt.Sprintf("class(%d)", int(c))
}

// Error is a failed post, classified by the sender that made it. Senders
// return *Error for every failure; the dispatcher decides what follows.
// An Error never holds a credential: senders must not put request headers
// or URLs with secrets into it.
type Error struct {
	Class Class
	// Reason is short and of bounded cardinality, fit for a metric label:
	// "transport", "timeout", "http_503", "http_429", "cam_805", ...
	Reason string
	// Status is the HTTP status, or 0 for a transport error.
	Status int
	// Until is when the upstream allows posts again (x-ratelimit-reset or
	// Retry-After): for RateLimited the pause, for Retryable the earliest
	// retry; zero when it did not say.
	Until time.Time
	// TokenWide is set when the token's own quota is spent (not only the
	// room's), so every room of the token must pause.
	TokenWide bool
	// Answer is the upstream's answer, truncated, for the dead-letter list.
	Answer string
	// Err is the underlying error, if any.
	Err error
}

func (e *Error) Error() string {
	msg := e.Class.String() + ": " + e.Reason
	if e.Answer != "" {
		msg += ": " + e.Answer
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

// Classify returns err as *Error; an unclassified error is Retryable with
// reason "unknown".
func Classify(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Class: Retryable, Reason: "unknown", Err: err}
}
