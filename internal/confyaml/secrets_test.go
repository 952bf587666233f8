package confyaml_test

import (
	"errors"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"

	"github.com/relayhq/relay/internal/confyaml"
)

const value = "s3cr3t-value"

// source is a Source over a fixed environment and files, in /etc/relay.
func source() confyaml.Source {
	env := map[string]string{"CW_TOKEN": value, "EMPTY": ""}
	files := map[string]string{
		"/etc/relay/token":       value + "\r\n\n",
		"/etc/relay/empty":       "\n",
		"/run/secrets/cw":        value,
		"/etc/relay/sub/token.t": value + "\n",
	}
	return confyaml.Source{
		Getenv: func(k string) string { return env[k] },
		ReadFile: func(p string) ([]byte, error) {
			if s, ok := files[filepath.ToSlash(p)]; ok {
				return []byte(s), nil
			}
			return nil, &fs.PathError{Op: "open", Path: p, Err: fs.ErrNotExist}
		},
		Dir: "/etc/relay",
	}
}

func TestSecret(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, env, file string
		want            string // the value; "" with ok false for none
		ok              bool
	}{
		{name: "from the environment", env: "CW_TOKEN", want: value, ok: true},
		{name: "from a file relative to the routes file", file: "token", want: value, ok: true},
		{name: "from a file in a subdirectory", file: "sub/token.t", want: value, ok: true},
		{name: "from an absolute path", file: "/run/secrets/cw", want: value, ok: true},
		{name: "neither", ok: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			n := parse(t, "token_env: x\n")
			got, ok, err := source().Secret(n, "token", tt.env, tt.file)
			if err != nil {
				t.Fatalf("Secret: %v", err)
			}
			if ok != tt.ok || got.Reveal() != tt.want {
				t.Errorf("got %q, %v; want %q, %v", got.Reveal(), ok, tt.want, tt.ok)
			}
		})
	}
}

func TestSecretErrors(t *testing.T) {
	t.Parallel()
	src := "type: chatwork\ntoken_env: CW\ntoken_file: f\n"
	tests := []struct {
		name, env, file string
		line            int
		path            string
		reason          string
	}{
		{"both", "CW_TOKEN", "token", 3, "token_file", "set token_env or token_file, not both"},
		{"unset variable", "NOPE", "", 2, "token_env", "environment variable NOPE is empty or unset"},
		{"empty variable", "EMPTY", "", 2, "token_env", "environment variable EMPTY is empty or unset"},
		{"invalid variable name", "CW-TOKEN", "", 2, "token_env", `invalid environment variable name "CW-TOKEN"`},
		{"missing file", "", "none", 3, "token_file", filepath.Join("/etc/relay", "none")},
		{"empty file", "", "empty", 3, "token_file", "secret file " + filepath.Join("/etc/relay", "empty") + " is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, ok, err := source().Secret(parse(t, src), "token", tt.env, tt.file)
			if ok || got.IsSet() {
				t.Errorf("got %q, %v with the error, want nothing", got.Reveal(), ok)
			}
			wantError(t, err, tt.line, tt.path, tt.reason)
			if err != nil && strings.Contains(err.Error(), value) {
				t.Errorf("error %q reveals the secret", err)
			}
		})
	}
}

func TestReadSecretFile(t *testing.T) {
	t.Parallel()
	read := source().ReadFile
	got, err := confyaml.ReadSecretFile(read, "/etc/relay/token")
	if err != nil || got.Reveal() != value {
		t.Errorf("got %q, %v; want the value without trailing newlines", got.Reveal(), err)
	}
	if _, err := confyaml.ReadSecretFile(read, "/nowhere"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: got %v, want it to wrap fs.ErrNotExist", err)
	}
}

func TestSourcePath(t *testing.T) {
	t.Parallel()
	s := confyaml.Source{Dir: "/etc/relay"}
	for in, want := range map[string]string{
		"":                "",
		"token":           filepath.Join("/etc/relay", "token"),
		"../x":            filepath.Join("/etc", "x"),
		"/run/secrets/cw": "/run/secrets/cw",
	} {
		if got := s.Path(in); got != want {
			t.Errorf("Path(%q) = %q, want %q", in, got, want)
		}
	}
}
