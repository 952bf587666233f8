// Package templates renders notifications into chat messages with Go
// text/template. The data is the notification model of package alert, which
// is Alertmanager's template data, the functions are Alertmanager's plus
// sprig's text functions, and the named templates of Alertmanager's
// default.tmpl are built in, so that Alertmanager templates port unchanged.
// The target is Alertmanager 0.35; the differential test in test/amtemplate
// renders a corpus through both and requires the same bytes.
//
// Built-in default templates, embedded in the binary, cover every source and
// sender kind; custom templates come from files, loaded in order after the
// built-in ones, a later {{define}} of a name replacing an earlier one as in
// Alertmanager. For Chatwork every string from the alert is neutralised
// before a template sees it, so alert text can never form a live Chatwork
// tag such as [toall].
package templates

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
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
	// custom holds the defaults and then the custom files; custom templates
	// can call the built-in ones and override them.
	custom *template.Template
	// names are the names the custom files define, sorted.
	names []string
	// routeLabels is set when a custom file mentions the routeLabels
	// function, which then needs binding to each render's data.
	routeLabels bool
}

// New parses the embedded default templates and then the custom template
// files that paths name, in order (see Files). A file may {{define "name"}}
// templates, and its text outside them is a template named by the file's
// base name ("ops.tmpl"), as in Alertmanager, and by that name without its
// extension ("ops"). A name defined again replaces the earlier definition,
// unless the new one is empty. Errors name the file and line.
func New(paths ...string) (*Templates, error) {
	builtin, err := parseDefaults()
	if err != nil {
		return nil, err
	}
	custom, err := builtin.Clone()
	if err != nil {
		return nil, fmt.Errorf("clone built-in templates: %w", err)
	}
	t := &Templates{builtin: builtin, custom: custom}
	files, err := Files(paths)
	if err != nil {
		return nil, err
	}
	defined := map[string]bool{}
	for _, p := range files {
		if err := t.parseFile(p, defined); err != nil {
			return nil, err
		}
	}
	for n := range defined {
		t.names = append(t.names, n)
	}
	slices.Sort(t.names)
	return t, nil
}

// Files returns the template files that paths name, in the order they
// load. A directory stands for the regular files in it, sorted by name,
// whatever their extension, without subdirectories and dot files (a
// Kubernetes ConfigMap's ..data). Any other path is a glob, as in
// Alertmanager's templates list: its matches load sorted by name, and a
// glob that matches nothing loads nothing. A path without glob characters
// must exist.
func Files(paths []string) ([]string, error) {
	var out []string
	for _, p := range paths {
		if p == "" {
			continue
		}
		if !hasMeta(p) {
			fi, err := os.Stat(p)
			if err != nil {
				return nil, fmt.Errorf("load templates: %w", err)
			}
			if fi.IsDir() {
				files, err := dirFiles(p)
				if err != nil {
					return nil, err
				}
				out = append(out, files...)
				continue
			}
		}
		matches, err := filepath.Glob(p)
		if err != nil {
			return nil, fmt.Errorf("load templates: glob %q: %w", p, err)
		}
		for _, m := range matches {
			if fi, err := os.Stat(m); err == nil && fi.IsDir() {
				continue
			}
			out = append(out, m)
		}
	}
	return out, nil
}

// hasMeta reports whether p holds a glob character.
func hasMeta(p string) bool {
	return strings.ContainsAny(p, `*?[\`)
}

// dirFiles returns the regular files in dir, sorted, without dot files.
func dirFiles(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("load templates: %w", err)
	}
	var out []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			continue
		}
		p := filepath.Join(dir, e.Name())
		fi, err := os.Stat(p) // follows symlinks, as a ConfigMap's files are
		if err != nil {
			return nil, fmt.Errorf("load templates: %w", err)
		}
		if fi.Mode().IsRegular() {
			out = append(out, p)
		}
	}
	return out, nil // ReadDir sorts by name
}

func parseDefaults() (*template.Template, error) {
	root := template.New("relay").Option("missingkey=zero").Funcs(funcMap())
	paths, err := fs.Glob(defaultFiles, "defaults/*.tmpl")
	if err != nil {
		return nil, fmt.Errorf("read built-in templates: %w", err)
	}
	for _, p := range paths {
		src, err := defaultFiles.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("read built-in templates: %w", err)
		}
		if _, err := root.New(p).Parse(string(src)); err != nil {
			return nil, fmt.Errorf("parse built-in templates: %w", err)
		}
	}
	return root, nil
}

// parseFile adds the templates of one custom file to t.custom and the
// names it defines to defined. Parse errors read
// "parse <path>: template: <base>:<line>: <reason>".
func (t *Templates) parseFile(path string, defined map[string]bool) error {
	src, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read template: %w", err)
	}
	base := filepath.Base(path)
	// Parsed on its own, with the same functions, to learn its names; the
	// trees then join the set as Parse would add them.
	alone, err := template.New(base).Option("missingkey=zero").Funcs(funcMap()).Parse(string(src))
	if err != nil {
		return fmt.Errorf("parse %s: %w", path, err)
	}
	for _, tt := range alone.Templates() {
		if tt.Tree == nil {
			continue
		}
		if _, err := t.custom.AddParseTree(tt.Name(), tt.Tree); err != nil {
			return fmt.Errorf("parse %s: %w", path, err)
		}
		if !parse.IsEmptyTree(tt.Root) {
			defined[tt.Name()] = true
		}
	}
	if stem := strings.TrimSuffix(base, filepath.Ext(base)); stem != base && stem != "" {
		if body := alone.Lookup(base); body != nil && body.Tree != nil && !parse.IsEmptyTree(body.Root) {
			if _, err := t.custom.AddParseTree(stem, body.Tree); err != nil {
				return fmt.Errorf("parse %s: %w", path, err)
			}
			defined[stem] = true
		}
	}
	t.routeLabels = t.routeLabels || strings.Contains(string(src), "routeLabels")
	return nil
}

// Has reports whether name is a template that Render can use: a custom
// template or a built-in one ("chatwork.alertmanager", "__subject", ...),
// even one that renders nothing (Alertmanager's "slack.default.text").
func (t *Templates) Has(name string) bool {
	tt := t.custom.Lookup(name)
	return tt != nil && tt.Tree != nil
}

// Names returns the names the custom files define, sorted.
func (t *Templates) Names() []string {
	return append([]string(nil), t.names...)
}

// Render renders template name ("" = the built-in default for kind and
// d.Source/d.Kind) for a sender kind: delivery.KindChatwork (Chatwork
// notation) or delivery.KindChatMessenger / delivery.KindConsole (plain
// text). It returns the trimmed message; a template that renders only
// white space is an error, since chat services refuse empty messages.
func (t *Templates) Render(kind, name string, d *alert.Data) (string, error) {
	s, err := t.RenderRaw(kind, name, d)
	if err != nil {
		return "", err
	}
	return trimmed(s, name)
}

// RenderRaw is Render without the trimming: the bytes the template wrote,
// which may be empty. `relay render --raw` prints them, and the
// differential test compares them with Alertmanager's.
func (t *Templates) RenderRaw(kind, name string, d *alert.Data) (string, error) {
	tmpl, err := t.lookup(kind, name, d)
	if err != nil {
		return "", err
	}
	return t.execute(tmpl, name, prepare(kind, d))
}

// lookup returns the template to execute for kind, name and d.
func (t *Templates) lookup(kind, name string, d *alert.Data) (*template.Template, error) {
	if name == "" {
		n, err := defaultName(kind, d)
		if err != nil {
			return nil, err
		}
		return t.builtin.Lookup(n), nil
	}
	if !t.Has(name) {
		return nil, fmt.Errorf("render template %q: no such template", name)
	}
	if kind != delivery.KindChatwork && kind != delivery.KindChatMessenger && kind != delivery.KindConsole {
		return nil, fmt.Errorf("render template %q: unknown sender kind %q", name, kind)
	}
	return t.custom.Lookup(name), nil
}

var errEmpty = errors.New("rendered an empty message")

// execute renders d, which prepare has made. name is the template's name
// as asked for ("" for a default), for a custom template's routeLabels.
func (t *Templates) execute(tmpl *template.Template, name string, d *alert.Data) (string, error) {
	if name != "" && t.routeLabels {
		// Alertmanager's route labels reach a notification rendered
		// already, so routeLabels returns them as they are.
		c, err := tmpl.Clone()
		if err != nil {
			return "", fmt.Errorf("render template %q: %w", tmpl.Name(), err)
		}
		tmpl = c.Funcs(template.FuncMap{"routeLabels": func(n string) string { return d.RouteLabels[n] }})
	}
	var b strings.Builder
	if err := tmpl.Execute(&b, d); err != nil {
		return "", fmt.Errorf("render template %q: %w", tmpl.Name(), err)
	}
	return b.String(), nil
}

// trimmed returns s without surrounding white space, or an error when
// nothing is left.
func trimmed(s, name string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		if name == "" {
			name = "default"
		}
		return "", fmt.Errorf("render template %q: %w", name, errEmpty)
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
