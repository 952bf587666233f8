package alert

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"unicode/utf8"
)

// ErrUnknownSource is returned, wrapped with the source's name, when a
// webhook names a source relay does not decode. Handlers answer it with 404.
var ErrUnknownSource = errors.New("unknown source")

// DecodeError says why a webhook body is not a valid payload of its source,
// and where. Handlers answer it with 400 and its text.
type DecodeError struct {
	// Source is the source whose payload was being decoded.
	Source string
	// Path locates the offending value, like alerts[2].startsAt; it is empty
	// when the body as a whole is at fault.
	Path string
	// Msg says what is wrong.
	Msg string
	// Offset is, for JSON syntax errors, the number of bytes of the body
	// read before the error; zero otherwise.
	Offset int64
}

func (e *DecodeError) Error() string {
	if e.Path == "" {
		return e.Source + " payload: " + e.Msg
	}
	return e.Source + " payload: " + e.Path + ": " + e.Msg
}

// MediaTypeError is returned for a Content-Type the source does not take.
// Handlers answer it with 415.
type MediaTypeError struct {
	Source      string
	ContentType string
}

func (e *MediaTypeError) Error() string {
	want := "application/json"
	if e.Source == SourceGeneric {
		want = "application/json or text/plain"
	}
	return fmt.Sprintf("unsupported content type %s for %s payload; want %s", quote(e.ContentType), e.Source, want)
}

// jsonError turns an encoding/json error met while decoding body (or the
// part of it at path) into a *DecodeError that says where it is.
func jsonError(source, path string, body []byte, err error) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		line, col := position(body, se.Offset)
		return &DecodeError{Source: source, Path: path, Offset: se.Offset,
			Msg: fmt.Sprintf("invalid JSON at line %d, column %d: %s", line, col, se.Error())}
	case errors.As(err, &te):
		return &DecodeError{Source: source, Path: joinPath(path, te.Field),
			Msg: fmt.Sprintf("want %s, got JSON %s", typeName(te.Type), te.Value)}
	}
	return &DecodeError{Source: source, Path: path, Msg: err.Error()}
}

// position returns the 1-based line and column (in characters) of the byte
// at which a JSON syntax error was found, given how many bytes were read.
func position(body []byte, read int64) (line, col int) {
	i := int(min(max(read-1, 0), int64(len(body))))
	before := body[:i]
	start := bytes.LastIndexByte(before, '\n') + 1
	return bytes.Count(before, []byte{'\n'}) + 1, utf8.RuneCount(before[start:]) + 1
}

func joinPath(path, field string) string {
	switch {
	case path == "":
		return field
	case field == "":
		return path
	}
	return path + "." + field
}

// typeName names the JSON type a Go type is decoded from.
func typeName(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Map, reflect.Struct:
		return "an object"
	case reflect.Slice, reflect.Array:
		return "an array"
	}
	return t.String()
}

// quote quotes a value taken from a payload for an error message, cut short
// so that a huge value cannot make a huge error.
func quote(s string) string {
	const limit = 64
	if utf8.RuneCountInString(s) <= limit {
		return fmt.Sprintf("%q", s)
	}
	r := []rune(s)
	return fmt.Sprintf("%q...", string(r[:limit]))
}
