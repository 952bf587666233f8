package templates

import (
	"bytes"
	"encoding/json"
	"net/url"
	"strings"

	"github.com/relayhq/relay/internal/alert"
)

// silenceURL returns the link to the new-silence form of the Alertmanager
// at externalURL, filled in with one equality matcher per label, sorted by
// name: externalURL + "/#/silences/new?filter=" + the percent-encoded
// {name="value", ...}, written as Alertmanager's UI writes its own filters
// (values JSON-quoted, matchers joined by ", ", encoded as
// encodeURIComponent does, a space as %20). It returns "" when externalURL
// or labels is empty.
func silenceURL(externalURL string, labels alert.KV) string {
	externalURL = strings.TrimRight(externalURL, "/")
	if externalURL == "" || len(labels) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteByte('{')
	for i, p := range labels.SortedPairs() {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(p.Name)
		b.WriteByte('=')
		b.WriteString(quote(p.Value))
	}
	b.WriteByte('}')
	return externalURL + "/#/silences/new?filter=" + strings.ReplaceAll(url.QueryEscape(b.String()), "+", "%20")
}

// quote returns s as a JSON string, without escaping HTML characters.
func quote(s string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	return strings.TrimSuffix(b.String(), "\n")
}
