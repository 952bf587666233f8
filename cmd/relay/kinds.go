package main

import (
	"github.com/relayhq/relay/internal/config"
	"github.com/relayhq/relay/internal/dispatcher"
	"github.com/relayhq/relay/internal/senders/chatmessenger"
	"github.com/relayhq/relay/internal/senders/chatwork"
	"github.com/relayhq/relay/internal/senders/console"
	"github.com/relayhq/relay/internal/senders/webhook"
)

// renderKind is the kind `relay render` renders for by default.
const renderKind = chatwork.Name

// relayKinds is the one list of sender kinds: adding a kind is its package
// under internal/senders and one line here. printer is where the console
// kind prints.
func relayKinds(printer *console.Sender) config.Kinds {
	return config.NewKinds(
		chatwork.Kind{},
		chatmessenger.Kind{},
		console.Kind{Out: printer},
		webhook.Kind{},
	)
}

// The chatwork poster follows notification groups (edits, replies, tasks)
// and can tell whether Chatwork takes its token.
var (
	_ dispatcher.Follower = (*chatwork.Sender)(nil)
	_ readier             = (*chatwork.Sender)(nil)
)
