package chatwork

import (
	"errors"

	"github.com/relayhq/relay/internal/secret"
)

// DefaultAPIURL is the base URL of Chatwork API v2.
const DefaultAPIURL = "https://api.chatwork.com/v2"

// MaxBodyLen is the longest message body Chatwork accepts, in characters
// as delivery.Len counts them.
const MaxBodyLen = 65535

// Config configures one Chatwork sender.
type Config struct {
	// Name is the sender's name in the routes file. The Sender does not use
	// it; the logger passed to New is expected to carry it.
	Name string
	// APIURL is the API base URL; empty means DefaultAPIURL.
	APIURL string
	// Token is the API token, sent in the x-chatworktoken header only.
	Token secret.Secret
	// SelfUnread leaves posted messages unread for the token's own account.
	SelfUnread bool
	// Scrub removes every configured credential from upstream answers
	// before they reach a log, an error or a dead letter; nil removes only
	// Token.
	Scrub *secret.Scrubber
}

var errNoToken = errors.New("chatwork: token is empty or not a valid header value")
