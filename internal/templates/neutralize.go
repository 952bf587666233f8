package templates

import (
	"reflect"
	"strings"

	"github.com/relayhq/relay/internal/alert"
)

// fullwidthBracket replaces the "[" of a would-be tag: it reads the same but
// Chatwork does not parse it.
const fullwidthBracket = "\uFF3B"

// Neutralize makes text from alerts unable to form a live Chatwork tag: every
// "[" that is followed by an optional "/" and a tag name (to, toall, info,
// title, code, hr, qt, rp, picon, ... in any case, ending the name at a
// character that is not a letter) becomes the fullwidth "［". Other text,
// including other brackets, is left as it is.
func Neutralize(s string) string {
	i := strings.IndexByte(s, '[')
	if i < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for ; i >= 0; i = strings.IndexByte(s, '[') {
		b.WriteString(s[:i])
		if opensTag(s[i+1:]) {
			b.WriteString(fullwidthBracket)
		} else {
			b.WriteByte('[')
		}
		s = s[i+1:]
	}
	b.WriteString(s)
	return b.String()
}

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

// copyData returns a deep copy of d with f applied to every string in it
// (map keys included). Templates get the copy, so a template function that
// mutates a map (sprig's set, unset) never touches the caller's Data, and
// for Chatwork f neutralises everything the alert carries. It walks d by
// reflection so that fields added to the model later are covered too.
func copyData(d *alert.Data, f func(string) string) *alert.Data {
	c := copyValue(reflect.ValueOf(d).Elem(), f).Interface().(alert.Data)
	return &c
}

func copyValue(v reflect.Value, f func(string) string) reflect.Value {
	switch v.Kind() {
	case reflect.String:
		out := reflect.New(v.Type()).Elem()
		out.SetString(f(v.String()))
		return out
	case reflect.Map:
		if v.IsNil() {
			return v
		}
		out := reflect.MakeMapWithSize(v.Type(), v.Len())
		for it := v.MapRange(); it.Next(); {
			out.SetMapIndex(copyValue(it.Key(), f), copyValue(it.Value(), f))
		}
		return out
	case reflect.Slice:
		if v.IsNil() {
			return v
		}
		out := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
		for i := range v.Len() {
			out.Index(i).Set(copyValue(v.Index(i), f))
		}
		return out
	case reflect.Pointer:
		if v.IsNil() {
			return v
		}
		out := reflect.New(v.Type().Elem())
		out.Elem().Set(copyValue(v.Elem(), f))
		return out
	case reflect.Interface:
		if v.IsNil() {
			return v
		}
		out := reflect.New(v.Type()).Elem()
		out.Set(copyValue(v.Elem(), f))
		return out
	case reflect.Struct:
		// Copy the whole struct first: unexported fields (time.Time's) hold
		// no alert text and are kept as they are.
		out := reflect.New(v.Type()).Elem()
		out.Set(v)
		for i := range v.NumField() {
			if out.Field(i).CanSet() {
				out.Field(i).Set(copyValue(v.Field(i), f))
			}
		}
		return out
	default:
		return v
	}
}

func identity(s string) string { return s }
