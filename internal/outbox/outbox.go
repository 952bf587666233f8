// Package outbox defines relay's durable queue of rendered messages: the
// types its stores share and the behaviour every store (sqlite, postgres)
// must have. A webhook is answered 202 only after Enqueue returned, which is
// after the messages are committed and synced to disk.
package outbox

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"time"

	"github.com/relayhq/relay/internal/delivery"
	"github.com/relayhq/relay/internal/limiter"
)

// ErrFull is returned by Enqueue when the queue is at its configured cap.
var ErrFull = errors.New("outbox is full")

// ErrBroken is matched (errors.Is) by every error of a store that found
// its database gone or corrupt. Such a store stays broken until relay
// restarts: Ping and Enqueue fail with the reason.
var ErrBroken = errors.New("the outbox is broken")

// GroupPostMemory is how long a store remembers the last message delivered
// per lane and notification group (see Requeue) after it was delivered.
const GroupPostMemory = 7 * 24 * time.Hour

// DefaultFollowMemory is how long a store keeps a group's follow state
// (GroupState) after it was last written, unless configured otherwise.
const DefaultFollowMemory = 7 * 24 * time.Hour

// GroupState is what a lane's sender kind remembers about one notification
// group: which upstream message (and task) carries it. State is the kind's
// own encoding; the store keeps it, opaque, until it is overwritten or
// has not been written for the store's follow memory.
type GroupState struct {
	Lane  string
	Group string
	State string
}

// Progress is the outcome of one successful operation on claimed
// messages, recorded in one transaction: the group states are written,
// the Acked messages are done (as by Ack), and the Next ones have another
// operation to go: their Step is incremented and they are released to be
// claimed again at once, in their place in the lane.
type Progress struct {
	Acked  []int64
	Next   []int64
	States []GroupState
}

// Batch is what one webhook enqueues: its messages, all or none.
type Batch struct {
	// NotificationID is the id the webhook is answered with.
	NotificationID string
	// DedupKey, if not empty, makes Enqueue a no-op returning Duplicate when
	// a batch with the same key was enqueued within the store's dedup TTL.
	DedupKey string
	Messages []delivery.Message
}

// EnqueueResult tells what Enqueue did.
type EnqueueResult struct {
	// NotificationID is the batch's id, or the first batch's id on a duplicate.
	NotificationID string
	// IDs are the new messages' ids, in batch order (none on a duplicate).
	IDs       []int64
	Duplicate bool
}

// ClaimRequest asks for the next post of one lane.
type ClaimRequest struct {
	Lane string
	// Rules are the limits the post must fit (room, token). A slot in each
	// is taken, atomically with the claim, only if all have one free.
	Rules []limiter.Rule
	// Margin is added to every rule's window (clock skew, network delay).
	Margin time.Duration
	// MaxChars bounds the folded body when messages are coalesced, as
	// delivery.Len counts, including separators.
	MaxChars int
	// SeparatorLen is the delivery.Len of the separator between folded bodies.
	SeparatorLen int
	// Lease is how long the claimed messages are held for this worker;
	// after it they may be claimed again (at-least-once).
	Lease time.Duration
	// Storm lets a post switch to the messages' one-line forms when the
	// backlog outgrows the window (see PlanPost); HeadingLen is the room
	// such a post keeps for its heading, within MaxChars.
	Storm      bool
	HeadingLen int
	// Quiet ends a burst: pacing holds back no post of a lane whose newest
	// message was received Quiet ago or longer. 0 means always paced.
	Quiet time.Duration
	// Head, if not 0, makes the claim conditional: it claims only if the
	// lane's first message is Head at step HeadStep (the caller planned
	// its rules for that message); otherwise it takes nothing and says
	// Moved.
	Head     int64
	HeadStep int
}

// Claim is the answer to a ClaimRequest.
//
// Messages is empty when nothing can be sent now. Then Wait > 0 says how
// long until the lane may have something to send (its head is backing off,
// or no slot is free); Wait == 0 means the lane is empty or held by
// another worker's lease.
//
// Coalescing rule (the same in every store): the head message is claimed
// alone when the window of every paced rule is empty (the first post to an
// idle room goes at once) and no more messages are queued in the lane than
// the rules have free slots left after this one; otherwise the post folds
// what is queued (PlanPost): as many messages as fit in MaxChars (with
// separators), in order, at least the head, or in a storm their one-line
// forms. A message that is Solo or has Step > 0 is never folded: as the
// head it is claimed alone, behind the head it ends the post before it.
//
// Pacing rule: while a burst is arriving, in a paced rule's window that
// holds slots already, a post that is not full waits limiter.Spacing after
// the window's latest slot; the claim then takes nothing and says how long
// (Wait, see PaceWait). A full post goes as soon as a slot is free, and so
// does the post of a lane that has been quiet (ClaimRequest.Quiet).
type Claim struct {
	Messages []delivery.Message
	Wait     time.Duration
	// Storm says Messages are to be posted in their one-line forms under
	// a heading; Behind is then how many messages stay queued in the lane
	// after them.
	Storm  bool
	Behind int
	// Moved is set when the request named a Head that is no longer the
	// lane's first message at that step.
	Moved bool
}

// DeadLetter is a message that will not be delivered without help.
type DeadLetter struct {
	delivery.Message
	Reason string    `json:"reason"`
	Answer string    `json:"answer"`
	DiedAt time.Time `json:"died_at"`
}

// RequeueResult is what Requeue did.
type RequeueResult struct {
	// Requeued is the number of dead letters moved back to the queue.
	Requeued int `json:"requeued"`
	// Skipped are the dead letters asked for that were not requeued, in id
	// order, with the reason; superseded ones stay in the dead letters.
	Skipped []Skipped `json:"skipped"`
}

// Skipped is a dead letter Requeue left alone, and why.
type Skipped struct {
	ID     int64  `json:"id"`
	Reason string `json:"reason"`
}

// Skip reasons of Requeue.
const (
	// ReasonNoSuchDeadLetter: the id is not a dead letter (requeued
	// already, or never one).
	ReasonNoSuchDeadLetter = "no such dead letter"
	// ReasonSupersededQueued: a newer notification of the dead letter's
	// group is queued on its lane.
	ReasonSupersededQueued = "superseded: a newer notification of its group is queued"
)

// ReasonSupersededDelivered is the skip reason of a dead letter whose
// group had a newer notification delivered on its lane at `at`.
func ReasonSupersededDelivered(at time.Time) string {
	return "superseded: a newer notification of its group was delivered at " + at.UTC().Format(time.RFC3339)
}

// Stat is the queue depth of one sender, for metrics.
type Stat struct {
	Sender string
	// Depth is the number of queued (not dead) messages.
	Depth int
	// Oldest is the CreatedAt of the oldest queued message (zero if none).
	Oldest time.Time
}

// Store is the behaviour every outbox store has; storetest checks it.
// Consumers (handlers, dispatcher) declare the smaller interfaces they use.
type Store interface {
	// Enqueue commits the batch durably (synced) in one transaction, or
	// returns an error and stores nothing; ErrFull over the cap.
	Enqueue(ctx context.Context, b Batch) (EnqueueResult, error)
	// Lanes lists the lanes that hold queued messages.
	Lanes(ctx context.Context) ([]string, error)
	// Claim leases the next post of a lane, see Claim.
	Claim(ctx context.Context, req ClaimRequest) (Claim, error)
	// Ack deletes delivered messages and records, per lane and
	// notification group (Message.Group), the last one delivered.
	Ack(ctx context.Context, ids []int64) error
	// Head returns the lane's first message, leased or not; false when
	// the lane is empty.
	Head(ctx context.Context, lane string) (delivery.Message, bool, error)
	// GroupStates returns the states kept for the groups on the lane
	// (see GroupState), by group; groups without one are absent.
	GroupStates(ctx context.Context, lane string, groups []string) (map[string]string, error)
	// Progress records the outcome of an operation, see Progress. Acked
	// messages are recorded in group_posts as by Ack.
	Progress(ctx context.Context, p Progress) error
	// Renew extends to now+lease the lease of those of the messages whose
	// lease has not expired; the others (acked, retried, buried, expired)
	// are left alone and are no error.
	Renew(ctx context.Context, ids []int64, lease time.Duration) error
	// Retry releases claimed messages to be tried again at `at`, counting an
	// attempt if countAttempt, and records the reason and upstream answer.
	Retry(ctx context.Context, ids []int64, at time.Time, countAttempt bool, reason, answer string) error
	// Bury moves messages to the dead letters with a reason and answer.
	Bury(ctx context.Context, ids []int64, reason, answer string) error
	// Pause holds a limiter key shut until `until` (a 429's reset).
	Pause(ctx context.Context, key string, until time.Time) error
	// DeadLetters lists up to limit dead letters, oldest first.
	DeadLetters(ctx context.Context, limit int) ([]DeadLetter, error)
	// Requeue moves the given dead letters (all when ids is empty) back to
	// the queue, at the end of their lanes, with attempts reset. A dead
	// letter of a notification group is superseded, skipped and kept, when
	// a newer notification of its group on its lane was delivered (within
	// GroupPostMemory) or is queued: posted now, it would tell the room a
	// state that is no longer true. The result lists what was skipped.
	Requeue(ctx context.Context, ids []int64) (RequeueResult, error)
	// Stats reports queue depth per sender.
	Stats(ctx context.Context) ([]Stat, error)
	// Ping checks that the store can write; it fails, with the reason,
	// once the store is broken (ErrBroken).
	Ping(ctx context.Context) error
	// Wake is signalled (without blocking) after every Enqueue and Requeue
	// so idle workers look again; with several replicas it also fires for
	// other replicas' enqueues.
	Wake() <-chan struct{}
	Close() error
}

// WithMissing adds to skipped, a Requeue's skipped dead letters, the ids
// asked for that were not found, and sorts it by id.
func WithMissing(skipped []Skipped, asked []int64, found map[int64]bool) []Skipped {
	seen := map[int64]bool{}
	for _, id := range asked {
		if !found[id] && !seen[id] {
			seen[id] = true
			skipped = append(skipped, Skipped{ID: id, Reason: ReasonNoSuchDeadLetter})
		}
	}
	if skipped == nil {
		skipped = []Skipped{}
	}
	slices.SortFunc(skipped, func(a, b Skipped) int { return cmp.Compare(a.ID, b.ID) })
	return skipped
}
