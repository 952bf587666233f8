package chatwork

import (
	"github.com/relayhq/relay/internal/confyaml"
	"github.com/relayhq/relay/internal/senders"
)

// DecodeFollowing decodes a target as Target does, without refusing
// on_resolve and task, which the dispatcher does not carry out yet.
func (Kind) DecodeFollowing(n confyaml.Node) (senders.Target, error) { return decodeTarget(n) }
