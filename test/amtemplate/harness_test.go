package amtemplate

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	texttemplate "text/template"

	"github.com/prometheus/alertmanager/template"
)

var update = flag.Bool("update", false, "rewrite the captured Alertmanager payload (with RELAY_TEST_ALERTMANAGER)")

// relayBin is the relay binary TestMain builds.
var relayBin string

func TestMain(m *testing.M) {
	flag.Parse()
	dir, err := os.MkdirTemp("", "amtemplate")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	relayBin = filepath.Join(dir, "relay")
	// Built in relay's own module, with its go.mod and go.sum: the binary
	// users get, not one built with this module's dependency versions.
	build := exec.Command(goTool(), "build", "-C", "../..", "-o", relayBin, "./cmd/relay")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintf(os.Stderr, "build relay: %v\n", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// goTool is the go command of the toolchain running the test.
func goTool() string {
	if p := filepath.Join(runtime.GOROOT(), "bin", "go"); fileExists(p) {
		return p
	}
	return "go"
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// payload is one Alertmanager webhook body, by file name.
type payload struct {
	name string
	body []byte
}

// payloads returns the corpus payloads and relay's shared Alertmanager
// fixtures, the captured one among them.
func payloads(t *testing.T) []payload {
	t.Helper()
	var out []payload
	for _, glob := range []string{"testdata/payloads/*.json", "../../testdata/payloads/alertmanager/*.json"} {
		files, err := filepath.Glob(glob)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, payload{name: filepath.Base(f), body: b})
		}
	}
	if len(out) < 8 {
		t.Fatalf("found %d payloads, want the corpus's and relay's", len(out))
	}
	return out
}

// amData is the template data Alertmanager rendered the notification
// whose webhook body is body with: a webhook is template.Data as JSON,
// plus version, groupKey and truncatedAlerts. Alertmanager's Data() never
// leaves a KV nil, and route labels reach a notification rendered, so the
// same holds here.
func amData(t *testing.T, body []byte) *template.Data {
	t.Helper()
	var d template.Data
	if err := json.Unmarshal(body, &d); err != nil {
		t.Fatalf("decode payload: %v", err)
	}
	for _, kv := range []*template.KV{&d.GroupLabels, &d.CommonLabels, &d.CommonAnnotations, &d.RouteLabels} {
		if *kv == nil {
			*kv = template.KV{}
		}
	}
	for i := range d.Alerts {
		if d.Alerts[i].Annotations == nil {
			d.Alerts[i].Annotations = template.KV{}
		}
	}
	template.MarkRouteLabelsRendered(&d)
	return &d
}

// result is one rendering: the text, or the error.
type result struct {
	out string
	err error
}

func (r result) String() string {
	if r.err != nil {
		return "error: " + r.err.Error()
	}
	return fmt.Sprintf("%q", r.out)
}

// amTemplates parses Alertmanager's built-in templates and then the files
// of globs, as Alertmanager does with its templates list.
func amTemplates(t *testing.T, globs ...string) *template.Template {
	t.Helper()
	tmpl, err := template.FromGlobs(globs)
	if err != nil {
		t.Fatalf("Alertmanager refuses %q: %v", globs, err)
	}
	return tmpl
}

// amRender renders template name through Alertmanager, as a receiver's
// field {{ template "name" . }} is rendered.
func amRender(tmpl *template.Template, name string, d *template.Data) result {
	out, err := tmpl.ExecuteTextString(`{{ template "`+name+`" . }}`, d)
	return result{out, err}
}

// relayRender renders template name with `relay render --raw` and the
// template paths (directories, files, globs) on body.
func relayRender(t *testing.T, paths []string, name string, body []byte) result {
	t.Helper()
	args := []string{"render", "--source", "alertmanager", "--sender", "console", "--raw", "--template", name}
	if len(paths) > 0 {
		args = append(args, "--templates", strings.Join(paths, ","))
	}
	cmd := exec.Command(relayBin, args...)
	// The test's own environment (its TZ above all: both sides must read
	// times in one Local), without relay's settings.
	cmd.Env = slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, "RELAY_") })
	cmd.Stdin = bytes.NewReader(body)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return result{err: fmt.Errorf("%v: %s", err, strings.TrimSpace(stderr.String()))}
	}
	return result{out: stdout.String()}
}

// same fails the test unless both rendered the same bytes or both failed.
func same(t *testing.T, what string, am, relay result) {
	t.Helper()
	switch {
	case am.err != nil && relay.err != nil:
	case am.err != nil || relay.err != nil || am.out != relay.out:
		t.Errorf("%s:\nAlertmanager: %s\nrelay:        %s", what, am, relay)
	}
}

// definedNames returns the names of the templates that files define, empty
// ones too, and of the files whose own text is a template (by base name),
// parsed with Alertmanager's functions.
func definedNames(t *testing.T, files ...string) []string {
	t.Helper()
	var names []string
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
			body := d.Name() == filepath.Base(f)
			if d.Tree != nil && (!body || strings.TrimSpace(d.Tree.Root.String()) != "") && !slices.Contains(names, d.Name()) {
				names = append(names, d.Name())
			}
		}
	}
	slices.Sort(names)
	return names
}

// amModuleFile returns the path of a file in the Alertmanager module the
// test is built with (go.mod pins it), such as template/default.tmpl.
func amModuleFile(t *testing.T, rel string) string {
	t.Helper()
	out, err := exec.Command(goTool(), "list", "-m", "-f", "{{.Dir}}", "github.com/prometheus/alertmanager").Output()
	if err != nil {
		t.Fatalf("find the Alertmanager module: %v", err)
	}
	p := filepath.Join(strings.TrimSpace(string(out)), rel)
	if !fileExists(p) {
		t.Fatalf("%s is not in the Alertmanager module", rel)
	}
	return p
}
