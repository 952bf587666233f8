package templates

import (
	"fmt"
	"strings"

	"github.com/relayhq/relay/internal/alert"
	"github.com/relayhq/relay/internal/delivery"
)

// RenderParts is Render, then split to fit maxLen as delivery.Len counts
// it. It first re-renders with the alerts split into consecutive groups
// (d.WithAlerts) at alert boundaries; only a single alert that is still too
// long, or a message without alerts, is split at line boundaries, and a line
// longer than a part at rune boundaries. A message wrapped in the notation's
// block ([info] ... [/info]) has it closed and reopened around each
// line-split part. Parts are numbered "(1/3) " at
// the start, counted in maxLen. Nothing is ever cut; one part has no number.
// A maxLen of zero or less means no limit. Every part is then made Final.
func (t *Templates) RenderParts(n Notation, name string, d *alert.Data, maxLen int) ([]string, error) {
	return t.RenderPreparedParts(Prepare(n, d), name, maxLen)
}

// RenderPreparedParts is RenderParts on data Prepare made.
func (t *Templates) RenderPreparedParts(p *Prepared, name string, maxLen int) ([]string, error) {
	parts, err := t.renderParts(p.n, name, p.d, maxLen)
	if err != nil {
		return nil, err
	}
	for i := range parts {
		parts[i] = p.n.Final(parts[i], name == "")
	}
	return parts, nil
}

// renderParts renders and splits d, which prepare has made.
func (t *Templates) renderParts(n Notation, name string, d *alert.Data, maxLen int) ([]string, error) {
	tmpl, err := t.lookup(n, name, d)
	if err != nil {
		return nil, err
	}
	render := func(d *alert.Data) (string, error) {
		s, err := t.execute(tmpl, name, d)
		if err != nil {
			return "", err
		}
		return trimmed(s, name)
	}
	whole, err := render(d)
	if err != nil {
		return nil, err
	}
	if maxLen <= 0 || delivery.Len(whole) <= maxLen {
		return []string{whole}, nil
	}
	s := splitter{render: render, open: n.BlockOpen, closing: n.BlockClose}
	// The number's width depends on how many parts there are: assume one
	// digit, and widen until the parts fit the assumption.
	for digits, most := 1, 9; ; digits, most = digits+1, most*10+9 {
		budget := maxLen - (2*digits + len("(/) "))
		if budget < minPart {
			return nil, fmt.Errorf("split message: a limit of %d characters leaves no room for text", maxLen)
		}
		parts, err := s.split(d, whole, budget)
		if err != nil {
			return nil, err
		}
		if len(parts) <= most {
			for i, p := range parts {
				parts[i] = fmt.Sprintf("(%d/%d) %s", i+1, len(parts), p)
			}
			return parts, nil
		}
	}
}

// minPart is the least room a part needs: one character, which may take two
// UTF-16 units.
const minPart = 2

// splitter splits one rendered message into parts.
type splitter struct {
	// render renders prepared data and trims the message.
	render        func(*alert.Data) (string, error)
	open, closing string // the notation's block, if it has one
}

// split returns the parts of d's message, each within budget. whole is the
// message rendered with all of d's alerts.
func (s splitter) split(d *alert.Data, whole string, budget int) ([]string, error) {
	if len(d.Alerts) <= 1 {
		return s.lines(whole, budget), nil
	}
	// When the text around the alerts alone is too long, fewer alerts per
	// part cannot help (a template that does not list the alerts, say).
	bare, err := s.render(d.WithAlerts(alert.Alerts{}))
	if err == nil && delivery.Len(bare) > budget {
		return s.lines(whole, budget), nil
	}
	var parts []string
	for as := d.Alerts; len(as) > 0; {
		n, text, err := s.fit(d, as, budget)
		if err != nil {
			return nil, err
		}
		if delivery.Len(text) > budget {
			parts = append(parts, s.lines(text, budget)...)
		} else {
			parts = append(parts, text)
		}
		as = as[n:]
	}
	return parts, nil
}

// fit returns how many of the alerts as, from the first, render within
// budget (at least one, which may still be too long) and their text. It
// gallops up in powers of two, then bisects, so that a storm of a thousand
// alerts takes a few dozen renders, not a thousand.
func (s splitter) fit(d *alert.Data, as alert.Alerts, budget int) (int, string, error) {
	render := func(n int) (string, bool, error) {
		text, err := s.render(d.WithAlerts(as[:n]))
		return text, delivery.Len(text) <= budget, err
	}
	lo := 1
	loText, ok, err := render(lo)
	if err != nil || !ok {
		return lo, loText, err
	}
	hi := len(as) + 1 // the least count known not to fit
	for n := 2; lo < len(as); n *= 2 {
		n = min(n, len(as))
		text, ok, err := render(n)
		if err != nil {
			return 0, "", err
		}
		if !ok {
			hi = n
			break
		}
		lo, loText = n, text
	}
	for hi-lo > 1 {
		mid := (lo + hi) / 2
		text, ok, err := render(mid)
		if err != nil {
			return 0, "", err
		}
		if ok {
			lo, loText = mid, text
		} else {
			hi = mid
		}
	}
	return lo, loText, nil
}

// lines splits text at line boundaries into parts within budget, and a line
// longer than budget at rune boundaries. A message that is one block of
// the notation gets the block closed and reopened in every part.
func (s splitter) lines(text string, budget int) []string {
	open, closing := s.open, s.closing
	if open != "" && strings.HasPrefix(text, open) && strings.HasSuffix(text, closing) &&
		budget-len(open)-len(closing) >= minPart {
		inner := text[len(open) : len(text)-len(closing)]
		parts := splitLines(inner, budget-len(open)-len(closing))
		for i, p := range parts {
			parts[i] = open + p + closing
		}
		return parts
	}
	return splitLines(text, budget)
}

// splitLines packs whole lines into parts within budget, splitting a line
// longer than budget at rune boundaries. Parts are trimmed; none is empty.
func splitLines(text string, budget int) []string {
	var parts []string
	var cur strings.Builder
	curLen := 0
	flush := func() {
		if p := strings.TrimSpace(cur.String()); p != "" {
			parts = append(parts, p)
		}
		cur.Reset()
		curLen = 0
	}
	for _, line := range strings.Split(text, "\n") {
		n := delivery.Len(line)
		if curLen > 0 && curLen+1+n > budget {
			flush()
		}
		for n > budget {
			head := delivery.Truncate(line, budget)
			if h := strings.TrimSpace(head); h != "" {
				parts = append(parts, h)
			}
			line = line[len(head):]
			n = delivery.Len(line)
		}
		if curLen > 0 {
			cur.WriteByte('\n')
			curLen++
		}
		cur.WriteString(line)
		curLen += n
	}
	flush()
	return parts
}
