package config

import (
	"fmt"
	"regexp"
	"strconv"

	"github.com/relayhq/relay/internal/confyaml"
)

// Error is a mistake in the routes file, located by file, line and the
// path of the offending key: relay.yml:14: routes.ops.targets[1]: unknown
// sender "cw".
type Error = confyaml.Error

// yamlLine matches yaml.v3's syntax errors, "yaml: line 3: did not find ...".
var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// syntaxError turns a yaml.v3 parse error into an *Error with its line.
func syntaxError(file string, err error) *Error {
	if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
		line, _ := strconv.Atoi(m[1])
		return &Error{File: file, Line: line, Reason: m[2]}
	}
	return &Error{File: file, Reason: fmt.Sprintf("parse YAML: %v", err)}
}
