package outbox

import (
	"math"
	"time"

	"github.com/relayhq/relay/internal/delivery"
)

// Folder decides which messages, read in lane order, one post carries:
// the head always, then each following message that is due, not alone
// (Solo or Step > 0) and fits in the request's MaxChars with a separator
// before it, up to the first that does not; a head that is alone carries
// nothing more. Every store folds with it, so the rule of Claim is the
// same in all of them.
type Folder struct {
	max, sep int
	chars    int
	n        int
	alone    bool // the head is alone
}

// NewFolder starts an empty post for req.
func NewFolder(req ClaimRequest) *Folder {
	return &Folder{max: req.MaxChars, sep: req.SeparatorLen}
}

// Add reports whether the next message joins the post: bodyLen is its
// body's delivery.Len, due whether it is available now, alone whether it
// must be claimed alone (Solo, or Step > 0). Once Add says no, the post is
// complete; stop reading.
func (f *Folder) Add(bodyLen int, due, alone bool) bool {
	n := bodyLen
	if f.n > 0 {
		n += f.sep
		if f.alone || alone || !due || f.chars+n > f.max {
			return false
		}
	}
	f.n++
	f.chars += n
	f.alone = alone
	return true
}

// Candidate is a lane's message as a claim reads it, in lane order, and
// whether it is due (available now).
type Candidate struct {
	Message delivery.Message
	Due     bool
}

// Post is what PlanPost decided one post carries.
type Post struct {
	Messages []delivery.Message
	// Storm says the post carries the messages' one-line forms.
	Storm bool
	// Full says a due message followed that did not fit: the post carries
	// all it can, so pacing has no reason to hold it back.
	Full bool
}

// StormLineSeparatorLen is the length of what goes between the lines of a
// storm post: a newline.
const StormLineSeparatorLen = 1

// PlanPost decides what the next post of a lane carries, in every store
// alike; next returns the lane's messages in order, false after the last.
// free is the least number of free slots over the request's rules,
// counting the one this post takes.
//
// Without fold the post is the head alone. With fold it is the head and
// the due messages behind it that fit in MaxChars (Folder). When
// req.Storm is set and the due backlog is more than one full-size post,
// the post switches to the one-line forms (delivery.Message.OneLine), as
// many as fit in MaxChars less HeadingLen, one per line, if that carries
// more messages than the full form and either the backlog would need more
// full-size posts than free (the window cannot carry it in full form), or
// burst is set: a burst is still arriving into a window that holds posts
// already, so the backlog keeps outgrowing what full-size posts carry at
// the window's pace. Nothing is dropped either way: what a post does not
// carry stays queued for the next.
func PlanPost(req ClaimRequest, free int, fold, burst bool, next func() (Candidate, bool, error)) (Post, error) {
	r := reader{next: next}
	if !fold {
		c, ok, err := r.at(0)
		if err != nil || !ok {
			return Post{}, err
		}
		return Post{Messages: []delivery.Message{c.Message}}, nil
	}
	body := func(m delivery.Message) int { return delivery.Len(m.Body) }
	n, full, err := r.pack(0, NewFolder(req), body)
	if err != nil || n == 0 {
		return Post{}, err
	}
	if req.Storm && req.MaxChars > req.HeadingLen && full && free < math.MaxInt32 {
		storm := burst
		if !storm {
			if storm, err = r.needsMore(n, req, free, body); err != nil {
				return Post{}, err
			}
		}
		if storm {
			lines := &Folder{max: req.MaxChars - req.HeadingLen, sep: StormLineSeparatorLen}
			k, kfull, err := r.pack(0, lines, func(m delivery.Message) int { return delivery.Len(m.OneLine()) })
			if err != nil {
				return Post{}, err
			}
			if k > n {
				return Post{Messages: r.messages(k), Storm: true, Full: kfull}, nil
			}
		}
	}
	return Post{Messages: r.messages(n), Full: full}, nil
}

// reader buffers the lane's messages as PlanPost reads them.
type reader struct {
	next func() (Candidate, bool, error)
	buf  []Candidate
	done bool
}

// at returns the i-th message of the lane, false past the last.
func (r *reader) at(i int) (Candidate, bool, error) {
	for len(r.buf) <= i && !r.done {
		c, ok, err := r.next()
		if err != nil {
			return Candidate{}, false, err
		}
		if !ok {
			r.done = true
			break
		}
		r.buf = append(r.buf, c)
	}
	if i < len(r.buf) {
		return r.buf[i], true, nil
	}
	return Candidate{}, false, nil
}

// pack folds messages from the from-th into f, each of length size, and
// returns how many joined and whether a due one was left out for lack of
// room (not because it, or the head, must go alone).
func (r *reader) pack(from int, f *Folder, size func(delivery.Message) int) (n int, full bool, err error) {
	for i := from; ; i++ {
		c, ok, err := r.at(i)
		if err != nil {
			return 0, false, err
		}
		if !ok {
			return n, false, nil
		}
		alone := Alone(c.Message)
		if !f.Add(size(c.Message), c.Due, alone) {
			// Full only when it was left out for lack of room.
			return n, c.Due && !alone && !f.alone, nil
		}
		n++
	}
}

// needsMore reports whether the due messages from the n-th on, packed in
// full-size posts after a first post of n, need more than free posts in
// all.
func (r *reader) needsMore(n int, req ClaimRequest, free int, size func(delivery.Message) int) (bool, error) {
	for posts := 1; ; posts++ {
		if posts > free {
			return true, nil
		}
		c, ok, err := r.at(n)
		if err != nil || !ok || !c.Due {
			return false, err
		}
		k, _, err := r.pack(n, NewFolder(req), size)
		if err != nil {
			return false, err
		}
		n += k
	}
}

func (r *reader) messages(n int) []delivery.Message {
	out := make([]delivery.Message, n)
	for i := range n {
		out[i] = r.buf[i].Message
	}
	return out
}

// Arriving reports whether a burst is still arriving on a lane whose
// newest message was received since ago: it has not been quiet for
// req.Quiet.
func Arriving(req ClaimRequest, since time.Duration) bool {
	return req.Quiet <= 0 || since < req.Quiet
}

// PaceWait is how long a post that is not full must still wait, given
// pace, what the paced rules ask (limiter.Log.Pace), and since, how long
// ago the lane's newest message was received: pace, cut short when the
// lane turns quiet; 0 once it is.
func PaceWait(req ClaimRequest, pace, since time.Duration) time.Duration {
	if pace <= 0 || !Arriving(req, since) {
		return 0
	}
	if req.Quiet > 0 {
		pace = min(pace, req.Quiet-since)
	}
	return pace
}

// Alone reports whether m is claimed alone: never folded with others.
func Alone(m delivery.Message) bool { return m.Solo || m.Step > 0 }
