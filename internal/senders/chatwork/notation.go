package chatwork

import "strings"

// notifying are the Chatwork tags that notify people: a mention of an
// account, of everyone in the room, and a reply (which notifies its
// addressee).
var notifying = []string{"to:", "toall]", "rp "}

// DisarmMentions makes every tag in body that would notify someone
// ([To:id], [toall], [rp ...], in any case) plain text. It is applied to
// the whole rendered message, at the output boundary, before relay adds the
// mentions a target is configured with: alert text is neutralised value by
// value, but a custom template can still join two harmless values ("[to",
// "all]") into a live tag, and only this check sees the joined text.
func DisarmMentions(body string) string { return disarm(body, notifies) }

// notifies reports whether rest, the text after a "[", opens a tag that
// notifies someone.
func notifies(rest string) bool {
	for _, tag := range notifying {
		if len(rest) >= len(tag) && strings.EqualFold(rest[:len(tag)], tag) {
			return true
		}
	}
	return false
}
