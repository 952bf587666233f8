package amtemplate

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// differ renders every name on every payload through Alertmanager (with
// the files of amGlobs) and relay (with relayPaths) and wants the same.
func differ(t *testing.T, amGlobs, relayPaths, names []string, ps []payload) {
	t.Helper()
	if len(names) == 0 {
		t.Fatal("no templates to compare")
	}
	am := amTemplates(t, amGlobs...)
	for _, p := range ps {
		t.Run(p.name, func(t *testing.T) {
			t.Parallel()
			d := amData(t, p.body)
			for _, name := range names {
				same(t, name, amRender(am, name, d), relayRender(t, relayPaths, name, p.body))
			}
		})
	}
}

// TestCorpus renders every template of every corpus style on every payload
// through Alertmanager and through relay, given the style's directory as a
// user gives it.
func TestCorpus(t *testing.T) {
	t.Parallel()
	styles, err := filepath.Glob("testdata/corpus/*")
	if err != nil || len(styles) < 6 {
		t.Fatalf("found styles %q (%v), want the corpus", styles, err)
	}
	ps := payloads(t)
	for _, dir := range styles {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			t.Parallel()
			files, err := filepath.Glob(filepath.Join(dir, "*"))
			if err != nil {
				t.Fatal(err)
			}
			differ(t, []string{filepath.Join(dir, "*")}, []string{dir}, definedNames(t, files...), ps)
		})
	}
}

// TestCorpusGlobs loads the layered style as two globs in the order given,
// as a templates list names them, the later glob's definitions winning.
func TestCorpusGlobs(t *testing.T) {
	t.Parallel()
	dir := "testdata/corpus/layered"
	globs := []string{filepath.Join(dir, "*.tpl"), filepath.Join(dir, "*.tmpl")}
	files, err := filepath.Glob(filepath.Join(dir, "*"))
	if err != nil {
		t.Fatal(err)
	}
	differ(t, globs, globs, definedNames(t, files...), payloads(t)[:3])
}

// notInRelay are Alertmanager's named templates relay does not define,
// and why.
var notInRelay = map[string]string{
	// An HTML document for email_configs' html field, rendered by
	// html/template in Alertmanager; relay renders chat messages in text.
	"email.default.html": "HTML email body",
}

// builtinNames returns the named templates of Alertmanager's default.tmpl
// and email.tmpl, at the version go.mod pins, but those in notInRelay.
func builtinNames(t *testing.T) []string {
	t.Helper()
	names := definedNames(t, amModuleFile(t, "template/default.tmpl"), amModuleFile(t, "template/email.tmpl"))
	names = slices.DeleteFunc(names, func(n string) bool {
		_, skip := notInRelay[n]
		return skip || n == "default.tmpl" || n == "email.tmpl"
	})
	if len(names) < 60 {
		t.Fatalf("found %d named templates in Alertmanager's default.tmpl, want them all", len(names))
	}
	return names
}

// TestBuiltinNamedTemplates renders each named template of Alertmanager's
// default.tmpl, with no custom files, through Alertmanager (its own
// definitions) and relay (relay's): same output, or both fail (some take
// a list of alerts, not the notification).
func TestBuiltinNamedTemplates(t *testing.T) {
	t.Parallel()
	differ(t, nil, nil, builtinNames(t), payloads(t))
}

// TestNextToDefaultTmpl loads a user's directory holding a verbatim copy of
// Alertmanager's default.tmpl (taken from the module, never committed)
// beside the corpus's layered and slack files: it loads in relay, and every
// template renders as in Alertmanager.
func TestNextToDefaultTmpl(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	src, err := os.ReadFile(amModuleFile(t, "template/default.tmpl"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "default.tmpl"), src, 0o600); err != nil {
		t.Fatal(err)
	}
	var files []string
	for _, style := range []string{"slack", "layered"} {
		fs, err := filepath.Glob(filepath.Join("testdata/corpus", style, "*"))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range fs {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			dst := filepath.Join(dir, filepath.Base(f))
			if err := os.WriteFile(dst, b, 0o600); err != nil {
				t.Fatal(err)
			}
			files = append(files, dst)
		}
	}
	names := append(definedNames(t, files...), builtinNames(t)...)
	slices.Sort(names)
	differ(t, []string{filepath.Join(dir, "*")}, []string{dir}, slices.Compact(names), payloads(t)[:4])
}
