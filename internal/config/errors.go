package config

import (
	"fmt"
	"regexp"
	"strconv"
)

// Error is a mistake in the routes file, located by file, line and the
// path of the offending key: relay.yml:14: routes.ops.targets[1]: unknown
// sender "cw".
type Error struct {
	File string
	// Line is 1-based; 0 when the mistake has no line (an unreadable file).
	Line int
	// Path is the dotted path of the key, e.g. routes.ops.targets[1].room;
	// empty for the document itself.
	Path   string
	Reason string
}

func (e *Error) Error() string {
	s := e.File
	if e.Line > 0 {
		s += ":" + strconv.Itoa(e.Line)
	}
	if e.Path != "" {
		s += ": " + e.Path
	}
	return s + ": " + e.Reason
}

// pos is where something was written in the routes file.
type pos struct {
	file string
	line int
	path string
}

func (p pos) errorf(format string, args ...any) *Error {
	return &Error{File: p.file, Line: p.line, Path: p.path, Reason: fmt.Sprintf(format, args...)}
}

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
