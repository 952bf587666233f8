package k8s

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	yamlv3 "go.yaml.in/yaml/v3"
)

var update = flag.Bool("update", false, "rewrite the table of values in charts/relay/README.md from values.yaml")

// The table of values in the chart's README sits between these lines.
const (
	valuesBegin = "<!-- values:begin: generated from values.yaml by `go test -run TestChartREADME -update` in test/k8s -->"
	valuesEnd   = "<!-- values:end -->"
)

// valueDoc is one documented value of values.yaml.
type valueDoc struct {
	Key, Default, Description string
}

// documentedValues walks values.yaml and returns its documented values, in
// file order. A key is documented by a "# -- description" comment above it
// (as helm-docs reads them); a mapping without one is walked into, and any
// other value without one is an error.
func documentedValues(node *yamlv3.Node, prefix string) ([]valueDoc, []error) {
	var docs []valueDoc
	var errs []error
	for i := 0; i+1 < len(node.Content); i += 2 {
		k, v := node.Content[i], node.Content[i+1]
		key := prefix + k.Value
		desc, ok := description(k.HeadComment)
		switch {
		case ok:
			def, err := defaultValue(v)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", key, err))
			}
			docs = append(docs, valueDoc{key, def, desc})
		case v.Kind == yamlv3.MappingNode && len(v.Content) > 0:
			d, e := documentedValues(v, key+".")
			docs, errs = append(docs, d...), append(errs, e...)
		default:
			errs = append(errs, fmt.Errorf("values.yaml line %d: %s has no \"# -- description\" comment", k.Line, key))
		}
	}
	return docs, errs
}

// description returns the text of a "# -- " comment and the comment lines
// after it.
func description(comment string) (string, bool) {
	_, after, ok := strings.Cut("\n"+comment, "\n# -- ")
	if !ok {
		return "", false
	}
	var words []string
	for _, line := range strings.Split(after, "\n") {
		words = append(words, strings.TrimSpace(strings.TrimPrefix(line, "#")))
	}
	return strings.Join(words, " "), true
}

// defaultValue renders a value as compact JSON.
func defaultValue(n *yamlv3.Node) (string, error) {
	var v any
	if err := n.Decode(&v); err != nil {
		return "", err
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return "", err
	}
	return strings.TrimSpace(b.String()), nil
}

// valuesTable renders the documented values as a Markdown table.
func valuesTable(docs []valueDoc) string {
	cell := func(s string) string { return strings.ReplaceAll(s, "|", `\|`) }
	var b strings.Builder
	b.WriteString("| key | default | description |\n|---|---|---|\n")
	for _, d := range docs {
		fmt.Fprintf(&b, "| `%s` | `%s` | %s |\n", d.Key, cell(d.Default), cell(d.Description))
	}
	return b.String()
}

func TestChartREADMEListsEveryValue(t *testing.T) {
	t.Parallel()
	src, err := os.ReadFile(filepath.Join(chartDir, "values.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var doc yamlv3.Node
	if err := yamlv3.Unmarshal(src, &doc); err != nil {
		t.Fatal(err)
	}
	docs, errs := documentedValues(doc.Content[0], "")
	for _, err := range errs {
		t.Error(err)
	}
	if len(docs) == 0 {
		t.Fatal("values.yaml documents no value")
	}
	readmePath := filepath.Join(chartDir, "README.md")
	readme, err := os.ReadFile(readmePath)
	if err != nil {
		t.Fatal(err)
	}
	head, rest, ok1 := strings.Cut(string(readme), valuesBegin+"\n")
	old, tail, ok2 := strings.Cut(rest, valuesEnd)
	if !ok1 || !ok2 {
		t.Fatalf("%s has no %q ... %q section", readmePath, valuesBegin, valuesEnd)
	}
	table := valuesTable(docs)
	if old == table {
		return
	}
	if *update {
		if err := os.WriteFile(readmePath, []byte(head+valuesBegin+"\n"+table+valuesEnd+tail), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	oldRows, newRows := strings.Split(old, "\n"), strings.Split(table, "\n")
	for _, r := range newRows {
		if !strings.Contains(old, r) {
			t.Errorf("README lacks the row: %s", r)
		}
	}
	for _, r := range oldRows {
		if !strings.Contains(table, r) {
			t.Errorf("README has a row values.yaml does not give: %s", r)
		}
	}
	t.Error("the README's table of values is out of date: run go test -run TestChartREADME -update in test/k8s")
}

// schemaNode is the part of a JSON schema that names an object's properties.
type schemaNode struct {
	Properties map[string]schemaNode `json:"properties"`
}

// checkSchemaCovers compares the keys of a values mapping with the
// properties of its schema, both ways, down to where the schema stops
// naming properties.
func checkSchemaCovers(t *testing.T, values map[string]any, schema schemaNode, prefix string) {
	t.Helper()
	for _, k := range sortedKeys(values) {
		sub, ok := schema.Properties[k]
		if !ok {
			t.Errorf("values.yaml has %s%s, which values.schema.json does not allow", prefix, k)
			continue
		}
		if m, isMap := values[k].(map[string]any); isMap && sub.Properties != nil {
			checkSchemaCovers(t, m, sub, prefix+k+".")
		}
	}
	for _, k := range sortedKeys(schema.Properties) {
		if _, ok := values[k]; !ok && prefix+k != "global" {
			t.Errorf("values.schema.json has %s%s, which values.yaml does not give", prefix, k)
		}
	}
}

func TestChartSchemaCoversEveryValue(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile(filepath.Join(chartDir, "values.schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	var schema schemaNode
	if err := json.Unmarshal(b, &schema); err != nil {
		t.Fatalf("values.schema.json: %v", err)
	}
	src, err := os.ReadFile(filepath.Join(chartDir, "values.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var values map[string]any
	if err := yamlv3.Unmarshal(src, &values); err != nil {
		t.Fatal(err)
	}
	checkSchemaCovers(t, values, schema, "")
}
