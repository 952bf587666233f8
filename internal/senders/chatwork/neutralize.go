package chatwork

import (
	"strings"
)

// Neutralize makes text from alerts unable to form a live Chatwork tag: every
// "[" that is followed by an optional "/" and a tag name (to, toall, info,
// title, code, hr, qt, rp, picon, ... in any case, ending the name at a
// character that is not a letter) becomes the fullwidth "［". Other text,
// including other brackets, is left as it is.
func Neutralize(s string) string { return disarm(s, opensTag) }

// disarm replaces every "[" of s for which opens(the text after it) holds
// by the fullwidth "［", which reads the same but Chatwork does not parse.
func disarm(s string, opens func(rest string) bool) string {
	i := strings.IndexByte(s, '[')
	if i < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for ; i >= 0; i = strings.IndexByte(s, '[') {
		b.WriteString(s[:i])
		if opens(s[i+1:]) {
			b.WriteString(fullwidthBracket)
		} else {
			b.WriteByte('[')
		}
		s = s[i+1:]
	}
	b.WriteString(s)
	return b.String()
}

// fullwidthBracket replaces the "[" of a tag.
const fullwidthBracket = "\uFF3B"

// opensTag reports whether rest, the text after a "[", starts with an
// optional "/" and a Chatwork tag name.
func opensTag(rest string) bool {
	rest = strings.TrimPrefix(rest, "/")
	n := 0
	for n < len(rest) && isASCIILetter(rest[n]) {
		n++
	}
	return n > 0 && isTagName(strings.ToLower(rest[:n]))
}

// isTagName reports whether name (lower case) is a Chatwork notation tag.
// Chatwork matches tags without regard to case; "[To:id]" takes any id
// after the colon.
func isTagName(name string) bool {
	switch name {
	case "to", "toall", "info", "title", "code", "hr", "qt", "qtmeta", "rp",
		"picon", "piconname", "preview", "download", "task", "dtext", "deleted":
		return true
	}
	return false
}

func isASCIILetter(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}
