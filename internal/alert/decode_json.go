package alert

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// decodeObject unmarshals data, the body or the part of it at path, into v,
// and insists that it is a JSON object.
func decodeObject(source, path string, data []byte, v any) error {
	trimmed := bytes.TrimLeft(data, " \t\r\n")
	if len(trimmed) == 0 {
		return &DecodeError{Source: source, Path: path, Msg: "empty body"}
	}
	err := json.Unmarshal(data, v)
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return jsonError(source, path, data, err)
	}
	if trimmed[0] != '{' {
		return &DecodeError{Source: source, Path: path, Msg: "want a JSON object, got " + jsonKind(trimmed[0])}
	}
	if err != nil {
		return jsonError(source, path, data, err)
	}
	return nil
}

// jsonKind names the kind of the JSON value that starts with c.
func jsonKind(c byte) string {
	switch c {
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number"
}

// parseTime parses an RFC 3339 timestamp; empty means the zero time.
func parseTime(source, path, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, &DecodeError{Source: source, Path: path,
			Msg: fmt.Sprintf("cannot parse %s as RFC 3339 time", quote(s))}
	}
	return t, nil
}

// checkStatus insists on one of Alertmanager's two statuses.
func checkStatus(source, path, s string) error {
	if s == StatusFiring || s == StatusResolved {
		return nil
	}
	return &DecodeError{Source: source, Path: path,
		Msg: fmt.Sprintf("want %q or %q, got %s", StatusFiring, StatusResolved, quote(s))}
}

// orEmpty returns kv, or an empty KV for nil, so templates never see nil.
func orEmpty(kv KV) KV {
	if kv == nil {
		return KV{}
	}
	return kv
}

// decodeAlerts decodes each raw alert with one, naming it alerts[i] in
// errors. A notification without alerts is an error.
func decodeAlerts(source string, raws []json.RawMessage, one func(path string, raw json.RawMessage) (Alert, error)) (Alerts, error) {
	if len(raws) == 0 {
		return nil, errNoAlerts(source)
	}
	as := make(Alerts, 0, len(raws))
	for i, raw := range raws {
		a, err := one(alertPath(i), raw)
		if err != nil {
			return nil, err
		}
		as = append(as, a)
	}
	return as, nil
}

// errNoAlerts is the error for a payload whose alerts list is missing or
// empty.
func errNoAlerts(source string) error {
	return &DecodeError{Source: source, Path: "alerts", Msg: "no alerts"}
}

// alertPath names alert i of a payload in errors.
func alertPath(i int) string {
	return fmt.Sprintf("alerts[%d]", i)
}
