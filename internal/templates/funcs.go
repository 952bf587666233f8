package templates

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"text/template"
	"time"

	"github.com/Masterminds/sprig/v3"
	"golang.org/x/text/cases"
	"golang.org/x/text/language"

	"github.com/relayhq/relay/internal/alert"
)

// funcMap returns the functions templates can call: sprig's text functions
// without those that reach outside the process (env and expandenv could read
// secrets, getHostByName does DNS), then Alertmanager's functions, which win
// on a clash, then relay's own helpers for generic payloads.
func funcMap() template.FuncMap {
	fm := sprig.TxtFuncMap()
	for _, name := range []string{"env", "expandenv", "getHostByName"} {
		delete(fm, name)
	}
	for name, f := range alertmanagerFuncs() {
		fm[name] = f
	}
	fm["field"] = field
	fm["fieldList"] = fieldList
	fm["fields"] = fields
	return fm
}

// alertmanagerFuncs are Alertmanager's template functions, with its names
// and semantics, so that Alertmanager templates port unchanged.
func alertmanagerFuncs() template.FuncMap {
	return template.FuncMap{
		"toUpper": strings.ToUpper,
		"toLower": strings.ToLower,
		"title": func(s string) string {
			// A caser must not be shared between goroutines.
			return cases.Title(language.AmericanEnglish).String(s)
		},
		"trimSpace": strings.TrimSpace,
		// join is strings.Join with the separator first, for pipelines.
		"join":  func(sep string, s []string) string { return strings.Join(s, sep) },
		"match": regexp.MatchString,
		"reReplaceAll": func(pattern, repl, text string) (string, error) {
			re, err := regexp.Compile(pattern)
			if err != nil {
				return "", err
			}
			return re.ReplaceAllString(text, repl), nil
		},
		"stringSlice":      func(s ...string) []string { return s },
		"safeUrl":          func(s string) string { return s },
		"urlUnescape":      url.QueryUnescape,
		"date":             func(layout string, t time.Time) string { return t.Format(layout) },
		"tz":               inZone,
		"since":            time.Since,
		"humanizeDuration": humanizeDuration,
		"toJson":           toJSON,
		"list":             func(v ...any) []any { return v },
		"dict":             dict,
		"append":           appendList,
		"now":              time.Now,
		"base64encode":     func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) },
		"base64decode": func(s string) (string, error) {
			b, err := base64.StdEncoding.DecodeString(s)
			if err != nil {
				return "", fmt.Errorf("decode base64: %w", err)
			}
			return string(b), nil
		},
	}
}

// inZone returns t in the named location ("Asia/Tokyo", "UTC", "Local").
func inZone(name string, t time.Time) (time.Time, error) {
	loc, err := time.LoadLocation(name)
	if err != nil {
		return time.Time{}, fmt.Errorf("load time zone: %w", err)
	}
	return t.In(loc), nil
}

func toJSON(v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("encode JSON: %w", err)
	}
	return string(b), nil
}

// dict builds a map from name, value pairs.
func dict(kv ...any) (map[string]any, error) {
	if len(kv)%2 != 0 {
		return nil, fmt.Errorf("dict needs name, value pairs, got %d arguments", len(kv))
	}
	m := make(map[string]any, len(kv)/2)
	for i := 0; i < len(kv); i += 2 {
		k, ok := kv[i].(string)
		if !ok {
			return nil, fmt.Errorf("dict name %d is a %T, not a string", i/2, kv[i])
		}
		m[k] = kv[i+1]
	}
	return m, nil
}

// appendList returns a new list: the items of list (any slice) and then v.
func appendList(list any, v ...any) ([]any, error) {
	var out []any
	if list != nil {
		rv := reflect.ValueOf(list)
		if rv.Kind() != reflect.Slice && rv.Kind() != reflect.Array {
			return nil, fmt.Errorf("append to a %T, not a list", list)
		}
		out = make([]any, 0, rv.Len()+len(v))
		for i := range rv.Len() {
			out = append(out, rv.Index(i).Interface())
		}
	}
	return append(out, v...), nil
}

// humanizeDuration formats seconds (a number, a numeric string or a
// time.Duration) like Prometheus does: "1d 2h 3m 4s", "1m 30s", "1.5s",
// "250ms".
func humanizeDuration(v any) (string, error) {
	secs, err := toSeconds(v)
	if err != nil {
		return "", err
	}
	if math.IsNaN(secs) || math.IsInf(secs, 0) {
		return fmt.Sprintf("%.4g", secs), nil
	}
	if secs == 0 {
		return "0s", nil
	}
	if math.Abs(secs) >= 1 {
		sign := ""
		if secs < 0 {
			sign, secs = "-", -secs
		}
		whole := int64(secs)
		s, m, h, d := whole%60, whole/60%60, whole/3600%24, whole/86400
		switch {
		case d != 0:
			return fmt.Sprintf("%s%dd %dh %dm %ds", sign, d, h, m, s), nil
		case h != 0:
			return fmt.Sprintf("%s%dh %dm %ds", sign, h, m, s), nil
		case m != 0:
			return fmt.Sprintf("%s%dm %ds", sign, m, s), nil
		}
		return fmt.Sprintf("%s%.4gs", sign, secs), nil
	}
	prefix := ""
	for _, p := range []string{"m", "u", "n", "p", "f", "a", "z", "y"} {
		if math.Abs(secs) >= 1 {
			break
		}
		prefix = p
		secs *= 1000
	}
	return fmt.Sprintf("%.4g%ss", secs, prefix), nil
}

func toSeconds(v any) (float64, error) {
	switch x := v.(type) {
	case time.Duration:
		return x.Seconds(), nil
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
		if err != nil {
			return 0, fmt.Errorf("parse duration seconds: %w", err)
		}
		return f, nil
	case float64:
		return x, nil
	case float32:
		return float64(x), nil
	case int:
		return float64(x), nil
	case int64:
		return float64(x), nil
	case int32:
		return float64(x), nil
	case uint:
		return float64(x), nil
	case uint64:
		return float64(x), nil
	case json.Number:
		return x.Float64()
	}
	return 0, fmt.Errorf("humanizeDuration of a %T: want seconds or a duration", v)
}

// field returns the value at a dotted path in decoded JSON
// ("object_attributes.status") as text, or "" when any step is missing or
// not an object. Whole numbers print without an exponent; objects and lists
// print as compact JSON. It never fails, so default templates can use it on
// any payload.
func field(path string, v any) string {
	return scalarText(at(path, v))
}

// fieldList returns the list at a dotted path in decoded JSON, or nil when
// there is none, so that a template can range over it without failing.
func fieldList(path string, v any) []any {
	l, _ := at(path, v).([]any)
	return l
}

func at(path string, v any) any {
	for _, step := range strings.Split(path, ".") {
		obj, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		if v, ok = obj[step]; !ok {
			return nil
		}
	}
	return v
}

// fields returns the top-level entries of a decoded JSON object as pairs
// sorted by name, each value as text of at most 200 characters, for a
// compact listing of a payload nobody wrote a template for.
func fields(v any) alert.Pairs {
	m, _ := v.(map[string]any)
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	ps := make(alert.Pairs, 0, len(names))
	for _, k := range names {
		ps = append(ps, alert.Pair{Name: k, Value: shorten(scalarText(m[k]), 200)})
	}
	return ps
}

func scalarText(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case bool:
		return strconv.FormatBool(x)
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1e15 {
			return strconv.FormatInt(int64(x), 10)
		}
		return strconv.FormatFloat(x, 'g', -1, 64)
	case json.Number:
		return x.String()
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// shorten cuts s to at most n runes, marking the cut with "…".
func shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := 0
	for j := range s {
		if i == n-1 {
			return s[:j] + "…"
		}
		i++
	}
	return s
}
