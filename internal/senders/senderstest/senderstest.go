// Package senderstest helps test sender kinds: entries of a routes file as
// a kind's Sender and Target get them from the config package, the errors
// they must give, and a fixed environment.
package senderstest

import (
	"errors"
	"io/fs"
	"strings"
	"testing"

	"github.com/relayhq/relay/internal/confyaml"
	"github.com/relayhq/relay/internal/senders"
)

// File is the routes file's name in every node and error.
const File = "relay.yml"

// Root parses src as the routes file.
func Root(t testing.TB, src string) confyaml.Node {
	t.Helper()
	n, err := confyaml.Load(File, []byte(src))
	if err != nil {
		t.Fatalf("parse YAML: %v", err)
	}
	return n
}

// Target returns the first target of route ops, naming sender, with the
// keys body at the target's indentation (the target at line 4, body from
// line 5), without the keys the config package decodes, as Kind.Target
// gets it. Its path is routes.ops.targets[0].
func Target(t testing.TB, sender, body string) confyaml.Node {
	t.Helper()
	src := "routes:\n  ops:\n    targets:\n      - sender: " + sender + "\n" + indent(body, "        ")
	return Root(t, src).Key("routes").Key("ops").Key("targets").Index(0).
		Without("sender", "template", "matchers")
}

// Sender returns the entry senders.<name> of type kind with the keys body
// (from line 4), without the keys the config package decodes, as
// Kind.Sender gets it.
func Sender(t testing.TB, name, kind, body string) confyaml.Node {
	t.Helper()
	src := "senders:\n  " + name + ":\n    type: " + kind + "\n" + indent(body, "    ")
	return Root(t, src).Key("senders").Key(name).Without("type", "limits", "max_chars", "separator")
}

func indent(s, prefix string) string {
	lines := strings.SplitAfter(s, "\n")
	for i, l := range lines {
		if l != "" && l != "\n" {
			lines[i] = prefix + l
		}
	}
	return strings.Join(lines, "")
}

// WantError checks that err is a *confyaml.Error at File:line and path
// whose reason holds reason.
func WantError(t testing.TB, err error, line int, path, reason string) {
	t.Helper()
	var e *confyaml.Error
	if !errors.As(err, &e) {
		t.Fatalf("got %v (%T), want a *confyaml.Error", err, err)
	}
	if e.File != File || e.Line != line || e.Path != path {
		t.Errorf("error %q is at %s:%d %q, want %s:%d %q", err, e.File, e.Line, e.Path, File, line, path)
	}
	if !strings.Contains(e.Reason, reason) {
		t.Errorf("error %q does not say %q", err, reason)
	}
}

// Env is a fixed environment: variables by name, and the files readFile
// finds under "file:" + path.
type Env map[string]string

// Getenv returns the variable name.
func (e Env) Getenv(name string) string { return e[name] }

// ReadFile returns the file at path, or fs.ErrNotExist.
func (e Env) ReadFile(path string) ([]byte, error) {
	if v, ok := e["file:"+path]; ok {
		return []byte(v), nil
	}
	return nil, fs.ErrNotExist
}

// Source is e as the source of a routes file in dir.
func (e Env) Source(dir string) confyaml.Source {
	return confyaml.Source{Getenv: e.Getenv, ReadFile: e.ReadFile, Dir: dir}
}

// Senders is e as the environment of built-in senders.
func (e Env) Senders() senders.Env { return senders.Env{Getenv: e.Getenv, ReadFile: e.ReadFile} }
