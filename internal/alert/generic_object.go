package alert

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"
)

// jsonObject is a decoded JSON object, numbers as json.Number.
type jsonObject map[string]any

// object returns the object at the path of keys, or nil.
func (o jsonObject) object(keys ...string) jsonObject {
	cur := o
	for _, k := range keys {
		m, ok := cur[k].(map[string]any)
		if !ok {
			return nil
		}
		cur = m
	}
	return cur
}

// str returns the string, number or boolean at the path of keys,
// stringified, or "" when there is none.
func (o jsonObject) str(keys ...string) string {
	if len(keys) == 0 {
		return ""
	}
	s, _ := scalar(o.object(keys[:len(keys)-1]...)[keys[len(keys)-1]])
	return s
}

// first returns the first non-empty str of the given top-level keys.
func (o jsonObject) first(keys ...string) string {
	for _, k := range keys {
		if s := o.str(k); s != "" {
			return s
		}
	}
	return ""
}

// time parses the timestamp at key in the first of layouts that fits. It
// returns the zero time when there is none or it does not parse: the time of
// a CI event is a nicety for templates, not worth rejecting the event for.
func (o jsonObject) time(key string, layouts ...string) time.Time {
	s := o.str(key)
	for _, l := range layouts {
		if t, err := time.Parse(l, s); err == nil {
			return t
		}
	}
	return time.Time{}
}

// scalar stringifies a JSON string, number or boolean.
func scalar(v any) (string, bool) {
	switch v := v.(type) {
	case string:
		return v, true
	case json.Number:
		return v.String(), true
	case bool:
		return strconv.FormatBool(v), true
	}
	return "", false
}

// firstLine returns the first line of s, trimmed.
func firstLine(s string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(line)
}
