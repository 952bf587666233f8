// Package confyaml decodes relay's routes file: YAML mappings into Go structs
// with yaml.v3, refusing keys that name no field (yaml.v3's KnownFields,
// which Node.Decode does not apply), with every error located by file, line
// and key path. The config package decodes the file's own keys with it and
// each sender kind its options, so that both speak the same errors.
package confyaml

import (
	"errors"
	"fmt"
	"maps"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Error is a mistake in the routes file, located by file, line and the
// path of the offending key: relay.yml:14: routes.ops.targets[1]: unknown
// sender "cw".
type Error struct {
	File string
	// Line is 1-based; 0 when the mistake has no line (an unreadable file).
	Line int
	// Path is the dotted path of the key, e.g. routes.ops.targets[1].room;
	// empty for the document itself.
	Path   string
	Reason string

	// column, with Line, is the node a decoder's error is about, for Path.
	column int
}

func (e *Error) Error() string {
	s := e.File
	if e.Line > 0 {
		s += ":" + strconv.Itoa(e.Line)
	}
	if e.Path != "" {
		s += ": " + e.Path
	}
	return s + ": " + e.Reason
}

// Node is a node of the routes file with where it is.
type Node struct {
	File string
	Path string
	// Y is the node, aliases resolved; nil for a key that is absent.
	Y *yaml.Node
	// keyLine is the line of the node's key, where errors about the node
	// point; line is where to point when Y is nil and there is no key:
	// the mapping that lacks it.
	keyLine, line int
}

// root returns the node of a document's top-level value.
func root(file string, y *yaml.Node) Node {
	n := Node{File: file, Y: resolve(y), line: 1}
	if n.Y != nil {
		n.line = n.Y.Line
	}
	return n
}

// Line is the line of the node's key, or of the node, or of its parent
// when the node is absent.
func (n Node) Line() int {
	switch {
	case n.keyLine > 0:
		return n.keyLine
	case n.Y != nil:
		return n.Y.Line
	}
	return n.line
}

// Errorf returns an *Error located at n.
func (n Node) Errorf(format string, args ...any) *Error {
	return &Error{File: n.File, Line: n.Line(), Path: n.Path, Reason: fmt.Sprintf(format, args...)}
}

// IsNull reports whether n is absent or null.
func (n Node) IsNull() bool {
	return n.Y == nil || (n.Y.Kind == yaml.ScalarNode && n.Y.Tag == "!!null")
}

// Key returns the value under key when n is a mapping, merge keys
// applied: absent (Y nil, at n's line) when it is not there.
func (n Node) Key(key string) Node {
	c := Node{File: n.File, Path: join(n.Path, key), line: n.Line()}
	if n.Y == nil || n.Y.Kind != yaml.MappingNode {
		return c
	}
	content := flatten(n.Y, 0)
	for i := 0; i+1 < len(content); i += 2 {
		if k := content[i]; k.Value == key {
			c.Y, c.keyLine = resolve(content[i+1]), k.Line
			return c
		}
	}
	return c
}

// At is Key, but n itself when the key is absent: where to point an error
// about the key's value, present or not.
func (n Node) At(key string) Node {
	if c := n.Key(key); c.Y != nil {
		return c
	}
	return n
}

// Entry returns the i-th key of a mapping and its value.
func (n Node) Entry(i int) (string, Node) {
	k := n.Y.Content[2*i]
	return k.Value, n.child(k, n.Y.Content[2*i+1])
}

// child is the value v of n's key k (nil for none yet), aliases resolved,
// located at the key.
func (n Node) child(k, v *yaml.Node) Node {
	return Node{File: n.File, Path: join(n.Path, k.Value), Y: resolve(v), keyLine: k.Line}
}

// Len is the number of entries of a mapping or items of a sequence.
func (n Node) Len() int {
	switch {
	case n.Y == nil:
		return 0
	case n.Y.Kind == yaml.MappingNode:
		return len(n.Y.Content) / 2
	}
	return len(n.Y.Content)
}

// flatten returns the key and value nodes of mapping y with its merge keys
// applied: a merged key fills in only what y does not set.
func flatten(y *yaml.Node, depth int) []*yaml.Node {
	var own, merged []*yaml.Node
	set := map[string]bool{}
	for i := 0; i+1 < len(y.Content); i += 2 {
		k := y.Content[i]
		if k.Tag == "!!merge" {
			if depth >= maxMergeDepth {
				continue // checkStruct refuses it
			}
			m := resolve(y.Content[i+1])
			items := []*yaml.Node{m}
			if m != nil && m.Kind == yaml.SequenceNode {
				items = m.Content
			}
			for _, item := range items {
				if item = resolve(item); item != nil && item.Kind == yaml.MappingNode {
					merged = append(merged, flatten(item, depth+1)...)
				}
			}
			continue
		}
		set[k.Value] = true
		own = append(own, k, y.Content[i+1])
	}
	for i := 0; i+1 < len(merged); i += 2 {
		if !set[merged[i].Value] {
			set[merged[i].Value] = true
			own = append(own, merged[i], merged[i+1])
		}
	}
	return own
}

// Index returns the i-th item of a sequence.
func (n Node) Index(i int) Node {
	c := Node{File: n.File, Path: fmt.Sprintf("%s[%d]", n.Path, i), line: n.Line()}
	if n.Y != nil && n.Y.Kind == yaml.SequenceNode && i < len(n.Y.Content) {
		c.Y = resolve(n.Y.Content[i])
	}
	return c
}

// Without returns n, a mapping, with its merge keys applied and without
// the given keys: what is left for someone else to decode (a sender kind's
// own options). Key nodes keep their lines.
func (n Node) Without(keys ...string) Node {
	if n.Y == nil || n.Y.Kind != yaml.MappingNode {
		return n
	}
	c := *n.Y
	c.Content = nil
	content := flatten(n.Y, 0)
	for i := 0; i+1 < len(content); i += 2 {
		if !slices.Contains(keys, content[i].Value) {
			c.Content = append(c.Content, content[i], content[i+1])
		}
	}
	n.Y = &c
	return n
}

// Decode decodes n into v, a pointer to a struct (or to anything yaml.v3
// decodes), as yaml.v3 does with KnownFields: a key that names no field is
// an error, and so is a value of the wrong type. A null or absent n leaves
// v as it is. Merge keys (<<: *defaults) are checked like the keys they
// merge.
func (n Node) Decode(v any) error {
	if n.IsNull() {
		return nil
	}
	if err := check(n, reflect.TypeOf(v)); err != nil {
		return err
	}
	if err := n.Y.Decode(v); err != nil {
		return n.decodeError(err)
	}
	return nil
}

var (
	unmarshalerType = reflect.TypeFor[yaml.Unmarshaler]()
	nodeType        = reflect.TypeFor[yaml.Node]()
)

// anyKey stands for an inline map among a struct's fields: it takes every
// key the struct's fields do not.
const anyKey = "\x00any"

// check walks n against t and fails on the first key that names no field.
func check(n Node, t reflect.Type) error {
	for t.Kind() == reflect.Pointer {
		if reflect.PointerTo(t).Implements(unmarshalerType) {
			break
		}
		t = t.Elem()
	}
	if n.Y == nil || t == nodeType || t.Implements(unmarshalerType) || reflect.PointerTo(t).Implements(unmarshalerType) {
		return nil // decodes itself, or is decoded later by its owner
	}
	switch {
	case n.Y.Kind == yaml.MappingNode && t.Kind() == reflect.Struct:
		return checkStruct(n, t, 0)
	case n.Y.Kind == yaml.MappingNode && t.Kind() == reflect.Map:
		content := flatten(n.Y, 0)
		for i := 0; i+1 < len(content); i += 2 {
			if err := check(n.child(content[i], content[i+1]), t.Elem()); err != nil {
				return err
			}
		}
	case n.Y.Kind == yaml.SequenceNode && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array):
		for i := range n.Y.Content {
			if err := check(n.Index(i), t.Elem()); err != nil {
				return err
			}
		}
	}
	return nil
}

// maxMergeDepth bounds merge keys within merged mappings.
const maxMergeDepth = 8

func checkStruct(n Node, t reflect.Type, depth int) error {
	fields := map[string]reflect.Type{}
	structFields(t, fields)
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Y.Content); i += 2 {
		k, val := n.Y.Content[i], resolve(n.Y.Content[i+1])
		if first, dup := seen[k.Value]; dup && k.Tag != "!!merge" {
			return n.child(k, nil).Errorf("duplicate key (first at line %d)", first)
		}
		seen[k.Value] = k.Line
		if k.Tag == "!!merge" {
			if depth >= maxMergeDepth {
				return n.Errorf("merge keys nested too deep")
			}
			items := []*yaml.Node{val}
			if val != nil && val.Kind == yaml.SequenceNode {
				items = val.Content
			}
			for _, m := range items {
				if m = resolve(m); m != nil && m.Kind == yaml.MappingNode {
					if err := checkStruct(Node{File: n.File, Path: n.Path, Y: m}, t, depth+1); err != nil {
						return err
					}
				}
			}
			continue
		}
		ft, ok := fields[k.Value]
		if !ok {
			if _, any := fields[anyKey]; any {
				continue
			}
			at := n.child(k, nil)
			if _, ok := fields[k.Value+"_env"]; ok {
				return at.Errorf("a literal secret is not allowed in the routes file; use %s_env or %s_file", k.Value, k.Value)
			}
			if len(fields) == 0 {
				return at.Errorf("unknown key (none is allowed here)")
			}
			return at.Errorf("unknown key (want one of %s)", strings.Join(slices.Sorted(maps.Keys(fields)), ", "))
		}
		if err := check(n.child(k, val), ft); err != nil {
			return err
		}
	}
	return nil
}

// structFields adds the yaml keys of t's fields, inline ones flattened.
func structFields(t reflect.Type, out map[string]reflect.Type) {
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("yaml")
		name, opts, _ := strings.Cut(tag, ",")
		if name == "-" {
			continue
		}
		if strings.Contains(opts, "inline") {
			ft := f.Type
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				structFields(ft, out)
			} else if ft.Kind() == reflect.Map {
				out[anyKey] = ft
			}
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		out[name] = f.Type
	}
}

// typeErrorLine matches one of yaml.v3's type errors: "line 3: cannot
// unmarshal !!map into string".
var typeErrorLine = regexp.MustCompile(`^line (\d+): cannot unmarshal !!(\w+)(?: ` + "`" + `(.*)` + "`" + `)? into (.+)$`)

// decodeError turns an error of Node.Decode into an *Error at its line.
func (n Node) decodeError(err error) error {
	var e *Error
	if errors.As(err, &e) {
		if e.File == "" {
			e.File = n.File
		}
		if e.Path == "" {
			e.Path = pathAt(n, e.Line, e.column)
		}
		return e
	}
	var te *yaml.TypeError
	if errors.As(err, &te) && len(te.Errors) > 0 {
		m := typeErrorLine.FindStringSubmatch(te.Errors[0])
		if m == nil {
			return n.Errorf("%s", te.Errors[0])
		}
		line, _ := strconv.Atoi(m[1])
		got := describeTag(m[2], m[3])
		var value []string
		if m[3] != "" {
			value = []string{m[3]}
		}
		return &Error{File: n.File, Line: line, Path: pathAt(n, line, 0, value...), Reason: fmt.Sprintf("want %s, got %s", describeType(m[4]), got)}
	}
	return n.Errorf("%v", err)
}

func describeTag(tag, value string) string {
	switch tag {
	case "map":
		return "a mapping"
	case "seq":
		return "a list"
	}
	return strconv.Quote(value)
}

func describeType(goType string) string {
	switch {
	case strings.HasPrefix(goType, "int"), strings.HasPrefix(goType, "uint"):
		return "an integer"
	case goType == "bool":
		return "true or false"
	case goType == "string":
		return "a single value"
	case strings.HasPrefix(goType, "[]"):
		return "a list"
	case strings.HasPrefix(goType, "map["), strings.Contains(goType, "."):
		return "a mapping"
	}
	return goType
}

// pathAt returns the path of the node at line below n: the node at column
// when it is known, else the scalar on the line that holds value, else the
// first key on the line; n's path when none is there.
func pathAt(n Node, line, column int, value ...string) string {
	if n.Y == nil || line == 0 {
		return n.Path
	}
	var walk func(y *yaml.Node, path string) (string, bool)
	walk = func(y *yaml.Node, path string) (string, bool) {
		y = resolve(y)
		if y == nil {
			return "", false
		}
		if y.Line == line && ((column > 0 && y.Column == column) ||
			(len(value) > 0 && y.Kind == yaml.ScalarNode && y.Value == value[0])) {
			return path, true
		}
		switch y.Kind {
		case yaml.MappingNode:
			for i := 0; i+1 < len(y.Content); i += 2 {
				k := y.Content[i]
				p := join(path, k.Value)
				if column == 0 && len(value) == 0 && k.Line == line {
					return p, true
				}
				if p2, ok := walk(y.Content[i+1], p); ok {
					return p2, true
				}
			}
		case yaml.SequenceNode:
			for i, c := range y.Content {
				if p, ok := walk(c, fmt.Sprintf("%s[%d]", path, i)); ok {
					return p, true
				}
			}
		}
		return "", false
	}
	if p, ok := walk(n.Y, n.Path); ok {
		return p
	}
	if len(value) > 0 {
		return pathAt(n, line, 0)
	}
	return n.Path
}

// nodeError is an *Error about node y, for an UnmarshalYAML method.
func nodeError(y *yaml.Node, format string, args ...any) *Error {
	return &Error{Line: y.Line, column: y.Column, Reason: fmt.Sprintf(format, args...)}
}

func resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 100; i++ {
		n = n.Alias
	}
	return n
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// List is a list of strings that may be written as a single value.
type List []string

// UnmarshalYAML implements yaml.Unmarshaler.
func (l *List) UnmarshalYAML(y *yaml.Node) error {
	y = resolve(y)
	switch y.Kind {
	case yaml.ScalarNode:
		if y.Tag == "!!null" {
			*l = nil
			return nil
		}
		*l = List{strings.TrimSpace(y.Value)}
		return nil
	case yaml.SequenceNode:
		out := make(List, 0, len(y.Content))
		for _, item := range y.Content {
			item = resolve(item)
			if item == nil || item.Kind != yaml.ScalarNode || item.Tag == "!!null" {
				return nodeError(item, "want a single value in the list, got %s", describe(item))
			}
			out = append(out, strings.TrimSpace(item.Value))
		}
		*l = out
		return nil
	}
	return nodeError(y, "want a list, got %s", describe(y))
}

// Duration is a Go duration written as 250ms, 10s or 5m.
type Duration time.Duration

// UnmarshalYAML implements yaml.Unmarshaler.
func (d *Duration) UnmarshalYAML(y *yaml.Node) error {
	y = resolve(y)
	if y.Kind != yaml.ScalarNode {
		return nodeError(y, "want a duration such as 250ms, 10s or 5m, got %s", describe(y))
	}
	v, err := time.ParseDuration(strings.TrimSpace(y.Value))
	if err != nil {
		return nodeError(y, "want a duration such as 250ms, 10s or 5m, got %q", y.Value)
	}
	*d = Duration(v)
	return nil
}

// String is a single value with surrounding white space trimmed.
type String string

// UnmarshalYAML implements yaml.Unmarshaler.
func (s *String) UnmarshalYAML(y *yaml.Node) error {
	y = resolve(y)
	if y.Kind != yaml.ScalarNode {
		return nodeError(y, "want a single value, got %s", describe(y))
	}
	if y.Tag == "!!null" {
		*s = ""
		return nil
	}
	*s = String(strings.TrimSpace(y.Value))
	return nil
}

// Describe names the node's kind for errors: "a mapping", "a list", the
// quoted scalar, "null", or "nothing" when it is absent.
func (n Node) Describe() string { return describe(n.Y) }

func describe(n *yaml.Node) string {
	switch {
	case n == nil:
		return "nothing"
	case n.Kind == yaml.ScalarNode && n.Tag == "!!null":
		return "null"
	case n.Kind == yaml.MappingNode:
		return "a mapping"
	case n.Kind == yaml.SequenceNode:
		return "a list"
	case n.Kind == yaml.ScalarNode:
		return strconv.Quote(n.Value)
	}
	return "an unexpected node"
}
