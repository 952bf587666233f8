package templates

import "fmt"

// Check renders template name in a sender kind's notation on Samples, so that a
// mistake in a template a target names surfaces at load and reload rather
// than when an alert needs it. The template passes when it renders a
// message for at least one sample, since most templates are written for
// one source; otherwise the error names the template and its first error,
// which text/template gives with file, line and reason. Templates that no
// target names (helpers, and Alertmanager's named templates, many of which
// take a list of alerts) are parsed by New and never executed on their own.
func (t *Templates) Check(n Notation, kindName, name string) error {
	var first error
	for _, d := range Samples() {
		_, err := t.Render(n, name, d)
		if err == nil {
			return nil
		}
		if first == nil {
			first = fmt.Errorf("check template %q for %s with a %s sample: %w", name, kindName, d.Kind, err)
		}
	}
	return first
}
