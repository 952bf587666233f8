package outbox

// Folder decides which messages, read in lane order, one post carries:
// the head always, then each following message that is due and fits in
// the request's MaxChars with a separator before it, up to the first that
// does not. Every store folds with it, so the rule of Claim is the same in
// all of them.
type Folder struct {
	req   ClaimRequest
	chars int
	n     int
}

// NewFolder starts an empty post for req.
func NewFolder(req ClaimRequest) *Folder { return &Folder{req: req} }

// Add reports whether the next message joins the post: bodyLen is its
// body's delivery.Len, due whether it is available now. Once Add says no,
// the post is complete; stop reading.
func (f *Folder) Add(bodyLen int, due bool) bool {
	n := bodyLen
	if f.n > 0 {
		n += f.req.SeparatorLen
		if !due || f.chars+n > f.req.MaxChars {
			return false
		}
	}
	f.n++
	f.chars += n
	return true
}
