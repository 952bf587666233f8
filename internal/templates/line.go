package templates

import (
	"fmt"
	"strings"

	"github.com/relayhq/relay/internal/alert"
	"github.com/relayhq/relay/internal/delivery"
)

// LineSuffix names a template's one-line form: the line of template "ops"
// is "ops.line", the line of a built-in default ("chatwork.alertmanager")
// is that name with the suffix ("chatwork.alertmanager.line").
const LineSuffix = ".line"

// MaxLineLen bounds a one-line form, as delivery.Len counts it.
const MaxLineLen = 500

// RenderLine renders the one-line form of d that a storm post carries:
// template name+LineSuffix if it was loaded, else the line of the built-in
// default of the notation for d's payload kind (also for name ""). The
// data is neutralised as for Render. The result is one line, white space
// runs (newlines too) made one space, at most MaxLineLen long, and made
// final as Notation.Finish says; it is never wrapped (Notation.Wrap), since
// a line is only ever sent as part of a storm post.
func (t *Templates) RenderLine(n Notation, name string, d *alert.Data) (string, error) {
	return t.RenderPreparedLine(Prepare(n, d), name)
}

// RenderPreparedLine is RenderLine on data Prepare made.
func (t *Templates) RenderPreparedLine(p *Prepared, name string) (string, error) {
	n, d := p.n, p.d
	lineName := name + LineSuffix
	tmpl := t.custom.Lookup(lineName)
	if name == "" || tmpl == nil || tmpl.Tree == nil {
		lineName = defaultName(n, d) + LineSuffix
		if tmpl = t.builtin.Lookup(lineName); tmpl == nil || tmpl.Tree == nil {
			return "", fmt.Errorf("render line: no built-in template %q", lineName)
		}
		name = ""
	}
	s, err := t.execute(tmpl, name, d)
	if err != nil {
		return "", err
	}
	line := delivery.Truncate(strings.Join(strings.Fields(s), " "), MaxLineLen)
	if line == "" {
		return "", fmt.Errorf("render template %q: %w", lineName, errEmpty)
	}
	if n.Finish != nil {
		line = n.Finish(line)
	}
	return line, nil
}

// Headed writes body under heading in the notation (Heading, or the
// heading on a line of its own) and makes it final as Finish says: how a
// storm post's summary stands above its lines.
func (n Notation) Headed(heading, body string) string {
	s := heading + "\n" + body
	if n.Heading != nil {
		s = n.Heading(heading, body)
	}
	if n.Finish != nil {
		s = n.Finish(s)
	}
	return s
}
