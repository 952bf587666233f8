package secret

import (
	"io"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
)

// minScrubLen is the shortest value a Scrubber removes: shorter ones would
// cut ordinary words out of text, and no credential relay accepts is that
// short.
const minScrubLen = 6

// Scrubber removes every configured credential from text: upstream answers
// before they reach a log, an error or a dead letter, and everything relay
// writes to its log and console. It is safe for concurrent use; a reload
// replaces the set of credentials with Set.
type Scrubber struct {
	r atomic.Pointer[strings.Replacer]
}

// NewScrubber returns a Scrubber for secrets.
func NewScrubber(secrets ...Secret) *Scrubber {
	s := &Scrubber{}
	s.Set(secrets...)
	return s
}

// Set makes secrets the credentials the Scrubber removes, as written and
// URL-encoded (the way a proxy or error page may echo them).
func (s *Scrubber) Set(secrets ...Secret) {
	var vals []string
	for _, sec := range secrets {
		v := sec.Reveal()
		if len(v) < minScrubLen {
			continue
		}
		vals = append(vals, v, url.QueryEscape(v), url.PathEscape(v))
	}
	// Longest first, so a secret that contains another is removed whole.
	slices.SortFunc(vals, func(a, b string) int { return len(b) - len(a) })
	vals = slices.Compact(vals)
	pairs := make([]string, 0, 2*len(vals))
	for _, v := range vals {
		pairs = append(pairs, v, redacted)
	}
	s.r.Store(strings.NewReplacer(pairs...))
}

// Scrub returns text without any credential. A nil Scrubber returns text
// as it is.
func (s *Scrubber) Scrub(text string) string {
	if s == nil {
		return text
	}
	r := s.r.Load()
	if r == nil {
		return text
	}
	return r.Replace(text)
}

// Writer returns w with every write scrubbed. A write is one log entry or
// one console message, so a credential is never split across writes.
func (s *Scrubber) Writer(w io.Writer) io.Writer { return &scrubWriter{s: s, w: w} }

type scrubWriter struct {
	s *Scrubber
	w io.Writer
}

func (w *scrubWriter) Write(p []byte) (int, error) {
	if _, err := io.WriteString(w.w, w.s.Scrub(string(p))); err != nil {
		return 0, err
	}
	return len(p), nil
}
