package delivery

// Op is one upstream operation that delivers a message, or a step of it,
// as a destination's kind plans it (see Message.Follow).
type Op struct {
	// Kind names the operation in metrics and logs, one of the Op*
	// constants.
	Kind string
	// Room is set when the operation spends a slot of the destination's
	// limit as well as the token's (a post, a new task); an edit or a
	// task's status spends the token's only.
	Room bool
	// Skip is set when the step needs no request (the group's task exists
	// already, or there is none to mark done): it is done at once and
	// spends no slot.
	Skip bool
	// Data is what the kind needs to perform the operation; only the kind
	// reads it.
	Data any
}

// The operation kinds.
const (
	OpPost     = "post"
	OpEdit     = "edit"
	OpReply    = "reply"
	OpTask     = "task"
	OpTaskDone = "task_done"
)

// OpKinds lists every operation kind, for metrics created at zero.
var OpKinds = []string{OpPost, OpEdit, OpReply, OpTask, OpTaskDone}
