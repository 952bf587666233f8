package outbox

import "github.com/relayhq/relay/internal/delivery"

// Folder decides which messages, read in lane order, one post carries:
// the head always, then each following message that is due, not alone
// (Solo or Step > 0) and fits in the request's MaxChars with a separator
// before it, up to the first that does not; a head that is alone carries
// nothing more. Every store folds with it, so the rule of Claim is the
// same in all of them.
type Folder struct {
	req   ClaimRequest
	chars int
	n     int
	alone bool // the head is alone
}

// NewFolder starts an empty post for req.
func NewFolder(req ClaimRequest) *Folder { return &Folder{req: req} }

// Add reports whether the next message joins the post: bodyLen is its
// body's delivery.Len, due whether it is available now, alone whether it
// must be claimed alone (Solo, or Step > 0). Once Add says no, the post is
// complete; stop reading.
func (f *Folder) Add(bodyLen int, due, alone bool) bool {
	n := bodyLen
	if f.n > 0 {
		n += f.req.SeparatorLen
		if f.alone || alone || !due || f.chars+n > f.req.MaxChars {
			return false
		}
	}
	f.n++
	f.chars += n
	f.alone = alone
	return true
}

// Alone reports whether m is claimed alone: never folded with others.
func Alone(m delivery.Message) bool { return m.Solo || m.Step > 0 }
