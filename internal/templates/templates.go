// Package templates renders notifications into chat messages with Go
// text/template. The data is the notification model of package alert, which
// follows Alertmanager's template data, and the functions are Alertmanager's
// plus sprig's text functions, so Alertmanager templates port unchanged.
//
// Built-in default templates, embedded in the binary, cover every source and
// sender kind; custom templates come from *.tmpl files in a directory. For
// Chatwork every string from the alert is neutralised before a template sees
// it, so alert text can never form a live Chatwork tag such as [toall].
package templates

import (
	"embed"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/template"
	"text/template/parse"

	"github.com/relayhq/relay/internal/alert"
	"github.com/relayhq/relay/internal/delivery"
)

//go:embed defaults/*.tmpl
var defaultFiles embed.FS

// Templates is a parsed set of built-in and custom templates. It is safe for
// concurrent use; a reload builds a new one.
type Templates struct {
	// builtin holds only the embedded defaults, so that the fallback works
	// even when a custom file redefines a built-in name.
	builtin *template.Template
	// custom holds the defaults and the custom files; custom templates can
	// call the built-in ones.
	custom *template.Template
	// names are the custom template names, sorted.
	names []string
}

// New parses the embedded default templates and every *.tmpl file in dir
// ("" = none). Each file may {{define "name"}} templates, and the file's base
// name without .tmpl names the whole file. Errors name the file and line; a
// name defined in two files is an error.
func New(dir string) (*Templates, error) {
	builtin, err := parseDefaults()
	if err != nil {
		return nil, err
	}
	custom, err := builtin.Clone()
	if err != nil {
		return nil, fmt.Errorf("clone built-in templates: %w", err)
	}
	t := &Templates{builtin: builtin, custom: custom}
	if dir == "" {
		return t, nil
	}
	paths, err := filepath.Glob(filepath.Join(dir, "*.tmpl"))
	if err != nil {
		return nil, fmt.Errorf("list templates in %s: %w", dir, err)
	}
	sort.Strings(paths)
	definedIn := map[string]string{}
	for _, p := range paths {
		names, err := t.parseFile(p)
		if err != nil {
			return nil, err
		}
		for _, n := range names {
			if prev, ok := definedIn[n]; ok {
				return nil, fmt.Errorf("parse %s: template %q is already defined in %s", p, n, prev)
			}
			definedIn[n] = p
			t.names = append(t.names, n)
		}
	}
	sort.Strings(t.names)
	return t, nil
}

func parseDefaults() (*template.Template, error) {
	root := template.New("relay").Option("missingkey=zero").Funcs(funcMap())
	paths, err := defaultFiles.ReadDir("defaults")
	if err != nil {
		return nil, fmt.Errorf("read built-in templates: %w", err)
	}
	for _, e := range paths {
		src, err := defaultFiles.ReadFile("defaults/" + e.Name())
		if err != nil {
			return nil, fmt.Errorf("read built-in templates: %w", err)
		}
		if _, err := root.New("defaults/" + e.Name()).Parse(string(src)); err != nil {
			return nil, fmt.Errorf("parse built-in templates: %w", err)
		}
	}
	return root, nil
}

// parseFile adds the templates of one custom file to t.custom and returns
// the names it defines.
func (t *Templates) parseFile(path string) ([]string, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read template: %w", err)
	}
	base := strings.TrimSuffix(filepath.Base(path), ".tmpl")
	// Parse alone first to learn which names this file defines; parse
	// errors read "template: <base>:<line>: ...".
	alone, err := template.New(base).Option("missingkey=zero").Funcs(funcMap()).Parse(string(src))
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", path, err)
	}
	var names []string
	for _, tt := range alone.Templates() {
		if tt.Tree == nil || parse.IsEmptyTree(tt.Root) {
			continue // a file of only defines, or an empty define
		}
		names = append(names, tt.Name())
	}
	if _, err := t.custom.New(base).Parse(string(src)); err != nil {
		return nil, fmt.Errorf("parse %s: %w", path, err)
	}
	return names, nil
}

// Has reports whether name is a template that Render can use: a custom
// template or a built-in one ("chatwork.alertmanager", ...).
func (t *Templates) Has(name string) bool {
	tt := t.custom.Lookup(name)
	return tt != nil && tt.Tree != nil && !parse.IsEmptyTree(tt.Root)
}

// Names returns the custom template names, sorted.
func (t *Templates) Names() []string {
	return append([]string(nil), t.names...)
}

// Render renders template name ("" = the built-in default for kind and
// d.Source/d.Kind) for a sender kind: delivery.KindChatwork (Chatwork
// notation) or delivery.KindChatMessenger / delivery.KindConsole (plain
// text). It returns the trimmed message; a template that renders only
// white space is an error, since chat services refuse empty messages.
func (t *Templates) Render(kind, name string, d *alert.Data) (string, error) {
	r, err := t.lookup(kind, name, d)
	if err != nil {
		return "", err
	}
	return r.execute(prepare(kind, d))
}

// renderer is a template to execute: by text/template, or, for a built-in
// template that has one, by its Go form (compiled.go).
type renderer struct {
	tmpl *template.Template
	fast compiledFunc
}

// lookup returns the template to execute for kind, name and d.
func (t *Templates) lookup(kind, name string, d *alert.Data) (renderer, error) {
	if name == "" {
		n, err := defaultName(kind, d)
		if err != nil {
			return renderer{}, err
		}
		return renderer{tmpl: t.builtin.Lookup(n), fast: compiled[n]}, nil
	}
	if !t.Has(name) {
		return renderer{}, fmt.Errorf("render template %q: no such template", name)
	}
	if kind != delivery.KindChatwork && kind != delivery.KindChatMessenger && kind != delivery.KindConsole {
		return renderer{}, fmt.Errorf("render template %q: unknown sender kind %q", name, kind)
	}
	return renderer{tmpl: t.custom.Lookup(name)}, nil
}

// prepare returns the data a template sees: a private deep copy of d, with
// every string neutralised for Chatwork.
func prepare(kind string, d *alert.Data) *alert.Data {
	if kind == delivery.KindChatwork {
		return copyData(d, Neutralize)
	}
	return copyData(d, identity)
}

var errEmpty = errors.New("rendered an empty message")

// execute renders d, which prepare has made, and trims the message.
func (r renderer) execute(d *alert.Data) (string, error) {
	var b strings.Builder
	if r.fast != nil {
		b.Grow(1024)
		r.fast(&b, d)
	} else if err := r.tmpl.Execute(&b, d); err != nil {
		return "", fmt.Errorf("render template %q: %w", r.tmpl.Name(), err)
	}
	s := strings.TrimSpace(b.String())
	if s == "" {
		return "", fmt.Errorf("render template %q: %w", r.tmpl.Name(), errEmpty)
	}
	return s, nil
}

// defaultName returns the built-in template for a sender kind and the
// payload's source and kind: "<chatwork|text>.<payload kind>".
func defaultName(kind string, d *alert.Data) (string, error) {
	var prefix string
	switch kind {
	case delivery.KindChatwork:
		prefix = "chatwork."
	case delivery.KindChatMessenger, delivery.KindConsole:
		prefix = "text."
	default:
		return "", fmt.Errorf("render default template: unknown sender kind %q", kind)
	}
	switch d.Kind {
	case alert.KindAlertmanager, alert.KindGrafanaUnified, alert.KindGrafanaLegacy, alert.KindJSON,
		alert.KindText, alert.KindGitLabPipeline, alert.KindGitHubWorkflowRun:
		return prefix + d.Kind, nil
	}
	switch d.Source {
	case alert.SourceGrafana:
		return prefix + alert.KindGrafanaUnified, nil
	case alert.SourceGeneric:
		if d.Payload == nil && d.Text != "" {
			return prefix + alert.KindText, nil
		}
		return prefix + alert.KindJSON, nil
	}
	return prefix + alert.KindAlertmanager, nil
}
