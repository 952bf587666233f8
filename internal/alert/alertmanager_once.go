package alert

import (
	"bytes"
	"encoding/json"
	"strings"
	"unicode/utf8"
)

// amMessageOnce is amMessage with its alerts decoded in the same pass.
type amMessageOnce struct {
	amMessage
	Alerts []amAlert `json:"alerts"`
}

// decodeAlertmanagerOnce decodes a valid payload in one pass over the JSON;
// ok is false if the payload is not valid or might decode differently in
// one pass, and the caller must decode it by parts.
//
// Errors always come from decodeAlertmanagerByParts, so that each names
// the alert it is in exactly as before. A successful one-pass decode is
// the same as decoding by parts with one exception, which is excluded
// first: a payload whose top-level object has two keys that encoding/json
// matches to "alerts" (duplicates, or other spellings of it). Decoding by
// parts keeps only the last array; one pass would decode the second array's
// alerts into the first's and merge them.
func decodeAlertmanagerOnce(body []byte) (*Data, bool) {
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	if len(trimmed) == 0 || trimmed[0] != '{' || !alertsKeyAtMostOnce(body) {
		return nil, false
	}
	var m amMessageOnce
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, false
	}
	const src = SourceAlertmanager
	if m.Version != "" && m.Version != "4" || checkStatus(src, "status", m.Status) != nil || len(m.Alerts) == 0 {
		return nil, false
	}
	as := make(Alerts, 0, len(m.Alerts))
	for i := range m.Alerts {
		// A JSON null decodes to a zero amAlert, whose empty status alert
		// refuses; by parts, it is refused as not an object.
		a, err := m.Alerts[i].alert(src, "")
		if err != nil {
			return nil, false
		}
		as = append(as, a)
	}
	return m.data(as), true
}

// alertsKeyAtMostOnce reports whether body holds at most one JSON string
// that encoding/json would match to the field name "alerts". It counts
// every quoted spelling that folds to it ("alerts", "Alerts", "ALERTS",
// "alertſ", ...), and gives up on any \u escape of one of its letters, so
// it may answer false for a payload that has one such key, never true for
// one that has two.
func alertsKeyAtMostOnce(body []byte) bool {
	for rest := body; ; {
		i := bytes.Index(rest, []byte(`\u`))
		if i < 0 {
			break
		}
		rest = rest[i+2:]
		if len(rest) >= 4 && escapesKeyLetter(rest[:4]) {
			return false
		}
	}
	n := 0
	for rest := body; ; {
		i := bytes.IndexByte(rest, '"')
		if i < 0 {
			return true
		}
		rest = rest[i+1:]
		for _, size := range []int{len("alerts"), len("alert") + utf8.RuneLen('ſ')} {
			if len(rest) > size && rest[size] == '"' && bytes.EqualFold(rest[:size], []byte("alerts")) {
				if n++; n > 1 {
					return false
				}
			}
		}
	}
}

// escapesKeyLetter reports whether hex, the four digits of a \u escape,
// encodes a letter that folds to one of "alerts", or is not hex at all.
func escapesKeyLetter(hex []byte) bool {
	var r rune
	for _, c := range hex {
		var v byte
		switch {
		case '0' <= c && c <= '9':
			v = c - '0'
		case 'a' <= c && c <= 'f':
			v = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			v = c - 'A' + 10
		default:
			return true
		}
		r = r<<4 | rune(v)
	}
	return strings.ContainsRune("alertsALERTSſ", r)
}
