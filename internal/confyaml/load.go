package confyaml

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"

	"go.yaml.in/yaml/v3"
)

// MaxAliasNodes is how many nodes aliases and merge keys may add to a
// file, counted as if every alias were replaced by a copy of its anchor.
// Every walk over a file is linear in that expanded size, so the bound is
// what keeps a few hundred bytes of nested aliases from making a load take
// minutes; a routes file that reuses a defaults block on each of a
// thousand targets stays well under it.
const MaxAliasNodes = 100_000

// Load parses data, the routes file named file, which must hold at most
// one YAML document, and returns the document's top-level value (Y nil for
// an empty file). It refuses an alias that refers to a node containing it
// and aliases that add more than MaxAliasNodes nodes. Every error is an
// *Error with a line.
func Load(file string, data []byte) (Node, error) {
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil && !errors.Is(err, io.EOF) {
		return Node{}, syntaxError(file, err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return Node{}, &Error{File: file, Line: extra.Line, Reason: "want one YAML document, found more"}
	} else if !errors.Is(err, io.EOF) {
		return Node{}, syntaxError(file, err)
	}
	var top *yaml.Node
	if doc.Kind == yaml.DocumentNode && len(doc.Content) > 0 {
		top = doc.Content[0]
	}
	if err := checkAliases(top); err != nil {
		err.File = file
		return Node{}, err
	}
	return root(file, top), nil
}

// yamlLine matches yaml.v3's syntax errors, "yaml: line 3: did not find ...".
var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// syntaxError turns a yaml.v3 parse error into an *Error with its line.
func syntaxError(file string, err error) *Error {
	if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
		line, _ := strconv.Atoi(m[1])
		return &Error{File: file, Line: line, Reason: m[2]}
	}
	return &Error{File: file, Reason: fmt.Sprintf("parse YAML: %v", err)}
}

// checkAliases walks the tree under top in file order and fails at the
// first alias that refers to a node containing it, or at the alias whose
// copy would take the nodes added by aliases past MaxAliasNodes. It takes
// time linear in the tree as written: each anchor is sized once.
func checkAliases(top *yaml.Node) *Error {
	const sizing = -1
	sizes := map[*yaml.Node]int{} // expanded size, at most MaxAliasNodes+1
	// size is y's expanded size, capped: past the cap the file fails anyway.
	var size func(y *yaml.Node) (int, *Error)
	size = func(y *yaml.Node) (int, *Error) {
		if y.Kind == yaml.AliasNode { // yaml.v3 refuses an unknown anchor
			switch n, ok := sizes[y.Alias]; {
			case ok && n == sizing:
				return 0, &Error{Line: y.Line, Reason: fmt.Sprintf("alias *%s refers to a node that contains it", y.Value)}
			case ok:
				return n, nil
			}
			return size(y.Alias)
		}
		sizes[y] = sizing
		n := 1
		for _, c := range y.Content {
			cn, err := size(c)
			if err != nil {
				return 0, err
			}
			n = min(n+cn, MaxAliasNodes+1)
		}
		sizes[y] = n
		return n, nil
	}
	added := 0
	var walk func(y *yaml.Node, path string) *Error
	walk = func(y *yaml.Node, path string) *Error {
		if y.Kind == yaml.AliasNode {
			n, err := size(y)
			if err == nil && added+n > MaxAliasNodes {
				err = &Error{Line: y.Line, Reason: fmt.Sprintf("aliases add more than %d nodes to the file by here; alias smaller blocks or fewer of them", MaxAliasNodes)}
			}
			if err != nil {
				err.Path = path
				return err
			}
			added += n
			return nil
		}
		for i, c := range y.Content {
			p := path
			switch {
			case y.Kind == yaml.MappingNode && i%2 == 1:
				p = join(path, y.Content[i-1].Value)
			case y.Kind == yaml.SequenceNode:
				p = fmt.Sprintf("%s[%d]", path, i)
			}
			if err := walk(c, p); err != nil {
				return err
			}
		}
		return nil
	}
	if top == nil {
		return nil
	}
	return walk(top, "")
}
