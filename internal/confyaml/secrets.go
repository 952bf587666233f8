package confyaml

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/relayhq/relay/internal/secret"
)

// Source is where the credentials that a routes file names come from: an
// environment variable (*_env) or a file (*_file, relative to the routes
// file). Errors name the variable or the file, never the value.
type Source struct {
	Getenv   func(string) string
	ReadFile func(string) ([]byte, error)
	// Dir is the routes file's directory.
	Dir string
}

// envNamePattern is what an environment variable name may be.
var envNamePattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// Path resolves a path written in the routes file against its directory.
func (s Source) Path(p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(s.Dir, p)
}

// Secret reads the credential that the mapping n names with the keys
// base+"_env" (whose value is env) or base+"_file" (file). ok is false when
// neither is set.
func (s Source) Secret(n Node, base, env, file string) (v secret.Secret, ok bool, err error) {
	envKey, fileKey := base+"_env", base+"_file"
	switch {
	case env != "" && file != "":
		return v, false, n.Key(fileKey).Errorf("set %s or %s, not both", envKey, fileKey)
	case env != "":
		if !envNamePattern.MatchString(env) {
			return v, false, n.Key(envKey).Errorf("invalid environment variable name %q", env)
		}
		val := s.Getenv(env)
		if val == "" {
			return v, false, n.Key(envKey).Errorf("environment variable %s is empty or unset", env)
		}
		return secret.New(val), true, nil
	case file != "":
		val, err := ReadSecretFile(s.ReadFile, s.Path(file))
		if err != nil {
			return v, false, n.Key(fileKey).Errorf("%v", err)
		}
		return val, true, nil
	}
	return v, false, nil
}

// ReadSecretFile reads a credential from path, trimming trailing newlines.
func ReadSecretFile(readFile func(string) ([]byte, error), path string) (secret.Secret, error) {
	b, err := readFile(path)
	if err != nil {
		return secret.Secret{}, fmt.Errorf("read secret file: %w", err)
	}
	v := strings.TrimRight(string(b), "\r\n")
	if v == "" {
		return secret.Secret{}, fmt.Errorf("secret file %s is empty", path)
	}
	return secret.New(v), nil
}
