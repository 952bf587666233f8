package templates

import (
	"errors"
	"fmt"
	"text/template/parse"

	"github.com/relayhq/relay/internal/delivery"
)

// Check renders custom templates against Samples for Chatwork and for plain
// text, so that mistakes surface at load and reload rather than when an
// alert needs the template. It checks the entry points: the custom
// templates that no other custom template calls (helpers are checked
// through their callers). A template passes when it renders a message for
// at least one sample of each kind, since most templates are written for
// one source; the error names each failing template and its first error.
func (t *Templates) Check() error {
	var errs []error
	for _, name := range t.entryPoints() {
		for _, kind := range []string{delivery.KindChatwork, delivery.KindChatMessenger} {
			if err := t.checkOne(kind, name); err != nil {
				errs = append(errs, err)
				break
			}
		}
	}
	return errors.Join(errs...)
}

func (t *Templates) checkOne(kind, name string) error {
	var first error
	for _, d := range Samples() {
		_, err := t.Render(kind, name, d)
		if err == nil {
			return nil
		}
		if first == nil {
			first = fmt.Errorf("check template %q for %s with a %s sample: %w", name, kind, d.Kind, err)
		}
	}
	return first
}

// entryPoints returns the custom template names that no custom template
// calls with {{template}}.
func (t *Templates) entryPoints() []string {
	called := map[string]bool{}
	for _, name := range t.names {
		if tt := t.custom.Lookup(name); tt != nil && tt.Tree != nil {
			calls := map[string]bool{}
			calledFrom(tt.Root, calls)
			delete(calls, name) // a recursive template is still an entry point
			for c := range calls {
				called[c] = true
			}
		}
	}
	var out []string
	for _, name := range t.names {
		if !called[name] {
			out = append(out, name)
		}
	}
	return out
}

// calledFrom adds to called the names that {{template}} actions in n use.
func calledFrom(n parse.Node, called map[string]bool) {
	switch n := n.(type) {
	case *parse.TemplateNode:
		called[n.Name] = true
	case *parse.ListNode:
		if n == nil {
			return
		}
		for _, c := range n.Nodes {
			calledFrom(c, called)
		}
	case *parse.IfNode:
		calledFrom(n.List, called)
		calledFrom(n.ElseList, called)
	case *parse.RangeNode:
		calledFrom(n.List, called)
		calledFrom(n.ElseList, called)
	case *parse.WithNode:
		calledFrom(n.List, called)
		calledFrom(n.ElseList, called)
	}
}
