package templates_test

import (
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/relayhq/relay/internal/alert"
	"github.com/relayhq/relay/internal/senders"
	"github.com/relayhq/relay/internal/templates"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// golden compares got with testdata/<TestName>/<name>.golden, or rewrites
// the file with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", strings.Split(t.Name(), "/")[0], name+".golden")
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden file (run go test -update to create it): %v", err)
	}
	if got+"\n" != string(want) {
		t.Errorf("%s differs from %s:\n--- got\n%s\n--- want\n%s", name, path, got, want)
	}
}

// goldenKinds are one kind of each notation: Chatwork's, and plain text.
var goldenKinds = []senders.Kind{chatworkKind, messengerKind}

// TestDefaultsGolden renders every sample with the built-in templates.
func TestDefaultsGolden(t *testing.T) {
	t.Parallel()
	tm := mustNew(t, nil)
	for _, d := range templates.Samples() {
		for _, k := range goldenKinds {
			got, err := tm.Render(k.Notation(), "", d)
			if err != nil {
				t.Fatalf("Render(%s, %s): %v", k.Name(), d.Kind, err)
			}
			golden(t, d.Kind+"."+k.Name(), got)
		}
	}
}

// payloadDir holds the shared payload fixtures, one directory per source.
const payloadDir = "../../testdata/payloads"

// TestFixturesGolden decodes every shared payload fixture as its source's
// webhook would arrive and renders it with the built-in templates.
func TestFixturesGolden(t *testing.T) {
	t.Parallel()
	if _, err := os.Stat(payloadDir); err != nil {
		t.Skipf("no payload fixtures: %v", err)
	}
	tm := mustNew(t, nil)
	n := 0
	err := filepath.WalkDir(payloadDir, func(path string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		ext := filepath.Ext(path)
		ctype := map[string]string{".json": "application/json", ".txt": "text/plain; charset=utf-8"}[ext]
		if ctype == "" {
			return nil
		}
		rel, _ := filepath.Rel(payloadDir, path)
		source := strings.Split(filepath.ToSlash(rel), "/")[0]
		body, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		d, err := alert.Decode(source, ctype, nil, body)
		if err != nil {
			return nil // an invalid-payload fixture: the decoders' tests cover it
		}
		n++
		name := strings.ReplaceAll(strings.TrimSuffix(filepath.ToSlash(rel), ext), "/", "_")
		for _, k := range goldenKinds {
			got, err := tm.Render(k.Notation(), "", d)
			if err != nil {
				t.Errorf("Render(%s, %s): %v", k.Name(), rel, err)
				continue
			}
			golden(t, name+"."+k.Name(), got)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Fatalf("no decodable fixture under %s", payloadDir)
	}
}
