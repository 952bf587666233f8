package config

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// object is one YAML mapping of the routes file whose keys were checked:
// known, unique, and not a literal secret.
type object struct {
	at     pos
	keys   map[string]*yaml.Node // key -> key node (for lines)
	values map[string]*yaml.Node
	merged map[*yaml.Node]bool // mappings merged in, each once
}

// resolve follows an alias to the node it names.
func resolve(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n == nil || (n.Kind == yaml.ScalarNode && n.Tag == "!!null")
}

// child returns the position of key under p.
func (p pos) child(key string, n *yaml.Node) pos {
	path := key
	if p.path != "" {
		path = p.path + "." + key
	}
	return pos{file: p.file, line: n.Line, path: path}
}

// index returns the position of the i-th item of a sequence at p.
func (p pos) index(i int, n *yaml.Node) pos {
	return pos{file: p.file, line: n.Line, path: fmt.Sprintf("%s[%d]", p.path, i)}
}

// mapping checks that n is a mapping with only the allowed keys. A null
// node is an empty mapping. A key that is a literal secret (token where
// token_env is allowed) gets an error that says what to write instead.
// Merge keys (<<: *defaults) fill in the keys the mapping does not set.
func mapping(at pos, n *yaml.Node, allowed ...string) (*object, error) {
	o := &object{at: at, keys: map[string]*yaml.Node{}, values: map[string]*yaml.Node{}, merged: map[*yaml.Node]bool{}}
	return o, o.add(n, allowed, 0)
}

// maxMergeDepth bounds merge keys within merged mappings.
const maxMergeDepth = 8

// add adds the keys of mapping n to o. depth 0 is the mapping itself,
// where a repeated key is an error; merged mappings (depth > 0) only fill
// in keys not yet set.
func (o *object) add(n *yaml.Node, allowed []string, depth int) error {
	n = resolve(n)
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		return o.at.errorf("want a mapping, got %s", describe(n))
	}
	var merges []*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := resolve(n.Content[i]), n.Content[i+1]
		if k == nil || k.Kind != yaml.ScalarNode {
			return pos{o.at.file, n.Content[i].Line, o.at.path}.errorf("want a string key, got %s", describe(k))
		}
		if k.Tag == "!!merge" {
			merges = append(merges, v)
			continue
		}
		kat := o.at.child(k.Value, k)
		if first, dup := o.keys[k.Value]; dup {
			if depth > 0 {
				continue
			}
			return kat.errorf("duplicate key (first at line %d)", first.Line)
		}
		if !slices.Contains(allowed, k.Value) {
			if slices.Contains(allowed, k.Value+"_env") {
				return kat.errorf("a literal secret is not allowed in the routes file; use %s_env or %s_file", k.Value, k.Value)
			}
			return kat.errorf("unknown key (want one of %s)", strings.Join(allowed, ", "))
		}
		o.keys[k.Value] = k
		o.values[k.Value] = v
	}
	if len(merges) > 0 && depth >= maxMergeDepth {
		return o.at.errorf("merge keys nested too deep")
	}
	for _, m := range merges {
		m = resolve(m)
		items := []*yaml.Node{m}
		if m != nil && m.Kind == yaml.SequenceNode {
			items = m.Content
		}
		for _, item := range items {
			if item = resolve(item); o.merged[item] {
				continue // merging a mapping again changes nothing
			}
			o.merged[item] = true
			if err := o.add(item, allowed, depth+1); err != nil {
				return err
			}
		}
	}
	return nil
}

// has reports whether key is present.
func (o *object) has(key string) bool { return o.values[key] != nil }

// pos returns the position of key's value, or of the mapping if absent.
func (o *object) pos(key string) pos {
	if v := o.values[key]; v != nil {
		return o.at.child(key, resolve(v))
	}
	return o.at
}

// scalar returns the scalar under key; ok is false when it is absent or null.
func (o *object) scalar(key string) (n *yaml.Node, ok bool, err error) {
	n = resolve(o.values[key])
	if isNull(n) {
		return nil, false, nil
	}
	if n.Kind != yaml.ScalarNode {
		return nil, false, o.pos(key).errorf("want a single value, got %s", describe(n))
	}
	return n, true, nil
}

// str returns the string under key, or "" when absent.
func (o *object) str(key string) (string, error) {
	n, ok, err := o.scalar(key)
	if !ok {
		return "", err
	}
	return strings.TrimSpace(n.Value), nil
}

// boolean returns the boolean under key, false when absent.
func (o *object) boolean(key string) (bool, error) {
	n, ok, err := o.scalar(key)
	if !ok {
		return false, err
	}
	var b bool
	if n.Tag != "!!bool" || n.Decode(&b) != nil {
		return false, o.pos(key).errorf("want true or false, got %q", n.Value)
	}
	return b, nil
}

// integer returns the integer under key; ok is false when it is absent.
func (o *object) integer(key string) (v int, ok bool, err error) {
	n, ok, err := o.scalar(key)
	if !ok {
		return 0, false, err
	}
	v, err = strconv.Atoi(n.Value)
	if err != nil {
		return 0, false, o.pos(key).errorf("want an integer, got %q", n.Value)
	}
	return v, true, nil
}

// duration returns the duration (Go syntax: 250ms, 10s, 5m) under key; ok
// is false when it is absent.
func (o *object) duration(key string) (d time.Duration, ok bool, err error) {
	n, ok, err := o.scalar(key)
	if !ok {
		return 0, false, err
	}
	d, err = time.ParseDuration(n.Value)
	if err != nil {
		return 0, false, o.pos(key).errorf("want a duration such as 250ms, 10s or 5m, got %q", n.Value)
	}
	return d, true, nil
}

// list returns the list of strings under key. A single value is a list
// of one.
func (o *object) list(key string) ([]string, error) {
	n := resolve(o.values[key])
	if isNull(n) {
		return nil, nil
	}
	if n.Kind == yaml.ScalarNode {
		return []string{strings.TrimSpace(n.Value)}, nil
	}
	if n.Kind != yaml.SequenceNode {
		return nil, o.pos(key).errorf("want a list, got %s", describe(n))
	}
	at := o.pos(key)
	out := make([]string, 0, len(n.Content))
	for i, item := range n.Content {
		item = resolve(item)
		if item == nil || item.Kind != yaml.ScalarNode || isNull(item) {
			return nil, at.index(i, n.Content[i]).errorf("want a single value, got %s", describe(item))
		}
		out = append(out, strings.TrimSpace(item.Value))
	}
	return out, nil
}

// describe names a node's kind for errors.
func describe(n *yaml.Node) string {
	switch {
	case n == nil:
		return "nothing"
	case isNull(n):
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
