package templates

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// TestHumanizeDuration: Prometheus' humanizeDuration, as Alertmanager
// has it, and also on the json.Number of a generic payload.
func TestHumanizeDuration(t *testing.T) {
	t.Parallel()
	humanize := funcMap()["humanizeDuration"].(func(any) (string, error))
	tests := []struct {
		in   any
		want string
	}{
		{0, "0s"},
		{0.25, "250ms"},
		{90, "1m 30s"},
		{"899.99", "14m 59s"},
		{2 * time.Hour, "2h 0m 0s"},
		{json.Number("3725"), "1h 2m 5s"},
	}
	for _, tt := range tests {
		got, err := humanize(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("humanizeDuration(%v) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	if _, err := humanize("soon"); err == nil {
		t.Error(`humanizeDuration("soon") succeeded, want an error`)
	}
}

func TestFuncMapLeavesNoWayOut(t *testing.T) {
	t.Parallel()
	fm := funcMap()
	for _, name := range []string{"env", "expandenv", "getHostByName"} {
		if _, ok := fm[name]; ok {
			t.Errorf("function %q is available to templates", name)
		}
	}
	for _, name := range []string{"toUpper", "join", "date", "tz", "since", "humanizeDuration", "toJson", "dict", "list", "append", "now", "base64encode", "base64decode", "safeUrl", "urlUnescape", "stringSlice", "match", "reReplaceAll", "title", "trimSpace", "toLower", "indent", "default"} {
		if _, ok := fm[name]; !ok {
			t.Errorf("function %q is missing", name)
		}
	}
}

func TestField(t *testing.T) {
	t.Parallel()
	p := map[string]any{
		"a":    map[string]any{"b": map[string]any{"c": "deep"}},
		"id":   float64(1234567890),
		"f":    1.5,
		"ok":   true,
		"list": []any{"x", float64(2)},
		"str":  "text",
	}
	tests := []struct{ path, want string }{
		{"a.b.c", "deep"},
		{"id", "1234567890"},
		{"f", "1.5"},
		{"ok", "true"},
		{"list", `["x",2]`},
		{"a.b", `{"c":"deep"}`},
		{"missing", ""},
		{"str.below", ""},
		{"a.missing.c", ""},
	}
	for _, tt := range tests {
		if got := field(tt.path, p); got != tt.want {
			t.Errorf("field(%q) = %q, want %q", tt.path, got, tt.want)
		}
	}
	if got := field("a", nil); got != "" {
		t.Errorf("field on nil = %q, want empty", got)
	}
	if got := fieldList("list", p); len(got) != 2 {
		t.Errorf("fieldList(list) = %v, want 2 items", got)
	}
	if got := fieldList("str", p); got != nil {
		t.Errorf("fieldList(str) = %v, want nil", got)
	}
	if got := strings.Join(fields(p).Names(), ","); got != "a,f,id,list,ok,str" {
		t.Errorf("fields names = %s", got)
	}
}
