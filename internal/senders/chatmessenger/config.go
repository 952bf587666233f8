package chatmessenger

import "github.com/relayhq/relay/internal/secret"

// Config configures one Chat&Messenger sender.
type Config struct {
	// Name is the sender's name in the routes file. The Sender does not use
	// it; the logger passed to New is expected to carry it.
	Name string
	// URL is the serverURL from the Chat&Messenger admin screen.
	URL string
	// Token is the apiToken, sent in the x-cam-apiToken header only.
	Token secret.Secret
	// Scrub removes every configured credential from upstream answers
	// before they reach a log, an error or a dead letter; nil removes only
	// Token.
	Scrub *secret.Scrubber
}
