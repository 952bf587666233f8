package config

import (
	"io"

	"github.com/relayhq/relay/internal/senders/chatmessenger"
	"github.com/relayhq/relay/internal/senders/chatwork"
	"github.com/relayhq/relay/internal/senders/console"
)

// testKinds are the kinds relay ships with, as cmd/relay lists them.
var testKinds = NewKinds(chatwork.Kind{}, chatmessenger.Kind{}, console.NewKind(io.Discard))
