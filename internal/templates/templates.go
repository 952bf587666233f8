// Package templates renders notifications into chat messages with Go
// text/template. The data is the notification model of package alert, which
// is Alertmanager's template data, the functions are Alertmanager's plus
// sprig's text functions, and the named templates of Alertmanager's
// default.tmpl are built in, so that Alertmanager templates port unchanged.
// The target is Alertmanager 0.35; the differential test in test/amtemplate
// renders a corpus through both and requires the same bytes.
//
// Built-in default templates, embedded in the binary, cover every source:
// the plain-text ones here, and those a sender kind brings for its own
// notation; custom templates come from files, loaded in order after the
// built-in ones, a later {{define}} of a name replacing an earlier one as in
// Alertmanager. A kind's Notation may neutralise every string from the alert
// before a template sees it, so that alert text can never form live markup
// (a tag that notifies everyone).
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

// Notation is how a sender kind writes its messages.
type Notation struct {
	// Defaults is the prefix of the kind's built-in templates, which are
	// named "<Defaults>.<payload kind>" ("x.alertmanager"); empty
	// means "text", the plain-text ones.
	Defaults string
	// Neutralize, if set, is applied to every string of the data before a
	// template sees it.
	Neutralize func(string) string
	// BlockOpen and BlockClose, if set, are markup that a message may be
	// wrapped in whole ([info] and [/info]); a message split at
	// lines gets the block closed and reopened around each part.
	BlockOpen, BlockClose string
	// Finish, if set, is applied to every message RenderParts returns, at
	// the output boundary: to disarm mentions a template joined.
	Finish func(string) string
	// Wrap, if set, turns a message of the built-in templates into the
	// upstream's body: a generic webhook's {"text": "..."}. A custom
	// template renders the whole body itself.
	Wrap func(string) string
	// Heading, if set, writes a body under a heading in the notation's
	// markup (see Headed): a storm post's summary above its lines.
	Heading func(heading, body string) string
}

// Final is what a rendered message becomes at the output boundary:
// finished, and wrapped when it came from the built-in templates.
func (n Notation) Final(msg string, builtin bool) string {
	if n.Finish != nil {
		msg = n.Finish(msg)
	}
	if builtin && n.Wrap != nil {
		msg = n.Wrap(msg)
	}
	return msg
}

// New parses the embedded default templates, then the default templates of
// the sender kinds (builtins: each file's {{define}}s, in order), and then
// the custom template files that paths name, in order (see Files). A file may {{define "name"}}
// templates, and its text outside them is a template named by the file's
// base name ("ops.tmpl"), as in Alertmanager, and by that name without its
// extension ("ops"). A name defined again replaces the earlier definition,
// unless the new one is empty. Errors name the file and line.
func New(builtins []fs.FS, paths ...string) (*Templates, error) {
	builtin, err := parseDefaults(builtins)
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

func parseDefaults(builtins []fs.FS) (*template.Template, error) {
	root := template.New("relay").Option("missingkey=zero").Funcs(funcMap())
	for _, fsys := range append([]fs.FS{defaultFiles}, builtins...) {
		if fsys == nil {
			continue
		}
		paths, err := fs.Glob(fsys, "*/*.tmpl")
		if err != nil {
			return nil, fmt.Errorf("read built-in templates: %w", err)
		}
		for _, p := range paths {
			src, err := fs.ReadFile(fsys, p)
			if err != nil {
				return nil, fmt.Errorf("read built-in templates: %w", err)
			}
			if _, err := root.New(p).Parse(string(src)); err != nil {
				return nil, fmt.Errorf("parse built-in templates: %w", err)
			}
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
// template or a built-in one ("text.alertmanager", "__subject", ...),
// even one that renders nothing (Alertmanager's "slack.default.text").
func (t *Templates) Has(name string) bool {
	tt := t.custom.Lookup(name)
	return tt != nil && tt.Tree != nil
}

// Names returns the names the custom files define, sorted.
func (t *Templates) Names() []string {
	return append([]string(nil), t.names...)
}

// Render renders template name ("" = the built-in default of the notation
// for d.Source/d.Kind) in a sender kind's notation. It returns the trimmed message; a template that renders only
// white space is an error, since chat services refuse empty messages.
func (t *Templates) Render(n Notation, name string, d *alert.Data) (string, error) {
	s, err := t.RenderRaw(n, name, d)
	if err != nil {
		return "", err
	}
	return trimmed(s, name)
}

// RenderRaw is Render without the trimming: the bytes the template wrote,
// which may be empty. `relay render --raw` prints them, and the
// differential test compares them with Alertmanager's.
func (t *Templates) RenderRaw(n Notation, name string, d *alert.Data) (string, error) {
	tmpl, err := t.lookup(n, name, d)
	if err != nil {
		return "", err
	}
	return t.execute(tmpl, name, prepare(n, d))
}

// lookup returns the template to execute for n, name and d.
func (t *Templates) lookup(n Notation, name string, d *alert.Data) (*template.Template, error) {
	if name == "" {
		dn := defaultName(n, d)
		tmpl := t.builtin.Lookup(dn)
		if tmpl == nil || tmpl.Tree == nil {
			return nil, fmt.Errorf("render default template: no built-in template %q", dn)
		}
		return tmpl, nil
	}
	if !t.Has(name) {
		return nil, fmt.Errorf("render template %q: no such template", name)
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

// defaultName returns the built-in template for a notation and the
// payload's source and kind: "<notation's Defaults or text>.<payload kind>".
func defaultName(n Notation, d *alert.Data) string {
	prefix := "text."
	if n.Defaults != "" {
		prefix = n.Defaults + "."
	}
	switch d.Kind {
	case alert.KindAlertmanager, alert.KindGrafanaUnified, alert.KindGrafanaLegacy, alert.KindJSON,
		alert.KindText, alert.KindGitLabPipeline, alert.KindGitHubWorkflowRun:
		return prefix + d.Kind
	}
	switch d.Source {
	case alert.SourceGrafana:
		return prefix + alert.KindGrafanaUnified
	case alert.SourceGeneric:
		if d.Payload == nil && d.Text != "" {
			return prefix + alert.KindText
		}
		return prefix + alert.KindJSON
	}
	return prefix + alert.KindAlertmanager
}
