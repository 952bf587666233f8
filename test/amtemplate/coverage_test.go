package amtemplate

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
	texttemplate "text/template"
	"text/template/parse"

	"github.com/prometheus/alertmanager/template"
)

// TestCorpusCoversAlertmanager holds the corpus to its promise: together
// its templates call every function of Alertmanager's DefaultFuncs and use
// every field of Data and Alert and every method of KV, Pairs, Strings and
// Alerts, as found by reflection on the pinned version, so a function or
// field a later Alertmanager adds fails here until the corpus uses it.
func TestCorpusCoversAlertmanager(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("testdata/corpus/*/*")
	if err != nil {
		t.Fatal(err)
	}
	used := map[string]bool{}
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		tt, err := texttemplate.New(filepath.Base(f)).Funcs(texttemplate.FuncMap(template.DefaultFuncs)).Parse(string(src))
		if err != nil {
			t.Fatalf("parse %s: %v", f, err)
		}
		for _, d := range tt.Templates() {
			if d.Tree != nil {
				identifiers(d.Root, used)
			}
		}
	}
	var want []string
	for name := range template.DefaultFuncs {
		want = append(want, name)
	}
	for _, v := range []any{template.Data{}, template.Alert{}} {
		rt := reflect.TypeOf(v)
		for i := range rt.NumField() {
			if rt.Field(i).IsExported() {
				want = append(want, rt.Field(i).Name)
			}
		}
	}
	for _, v := range []any{template.KV{}, template.Pairs{}, template.Strings{}, template.Alerts{}, template.Pair{}} {
		rt := reflect.TypeOf(v)
		for i := range rt.NumMethod() {
			want = append(want, rt.Method(i).Name)
		}
		if rt.Kind() == reflect.Struct {
			for i := range rt.NumField() {
				want = append(want, rt.Field(i).Name)
			}
		}
	}
	slices.Sort(want)
	for _, name := range slices.Compact(want) {
		if !used[name] {
			t.Errorf("no corpus template uses %s", name)
		}
	}
}

// identifiers adds to used the function names and field or method names
// that the template under n refers to.
func identifiers(n parse.Node, used map[string]bool) {
	switch n := n.(type) {
	case *parse.ListNode:
		if n != nil {
			for _, c := range n.Nodes {
				identifiers(c, used)
			}
		}
	case *parse.ActionNode:
		identifiers(n.Pipe, used)
	case *parse.PipeNode:
		if n != nil {
			for _, c := range n.Cmds {
				identifiers(c, used)
			}
		}
	case *parse.CommandNode:
		for _, a := range n.Args {
			identifiers(a, used)
		}
	case *parse.IdentifierNode:
		used[n.Ident] = true
	case *parse.FieldNode:
		for _, f := range n.Ident {
			used[f] = true
		}
	case *parse.VariableNode:
		for _, f := range n.Ident[1:] {
			used[f] = true
		}
	case *parse.ChainNode:
		identifiers(n.Node, used)
		for _, f := range n.Field {
			used[f] = true
		}
	case *parse.IfNode:
		identifiers(&n.BranchNode, used)
	case *parse.RangeNode:
		identifiers(&n.BranchNode, used)
	case *parse.WithNode:
		identifiers(&n.BranchNode, used)
	case *parse.BranchNode:
		identifiers(n.Pipe, used)
		identifiers(n.List, used)
		identifiers(n.ElseList, used)
	case *parse.TemplateNode:
		identifiers(n.Pipe, used)
	}
}
