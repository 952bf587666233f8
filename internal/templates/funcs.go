package templates

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	htmltemplate "html/template"
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
	promtemplates "github.com/prometheus/common/helpers/templates"
	"golang.org/x/text/cases"
	"golang.org/x/text/language"

	"github.com/relayhq/relay/internal/alert"
)

// funcMap returns the functions templates can call: sprig's text functions
// without those that reach outside the process (env and expandenv could read
// secrets, getHostByName does DNS) and without slice, which would hide
// text/template's own (that slices strings too, as Alertmanager templates
// expect), then Alertmanager's functions, which win on a clash as they do
// in Alertmanager, then relay's own helpers for generic payloads and
// silenceURL.
func funcMap() template.FuncMap {
	fm := sprig.TxtFuncMap()
	for _, name := range []string{"env", "expandenv", "getHostByName", "slice"} {
		delete(fm, name)
	}
	for name, f := range alertmanagerFuncs() {
		fm[name] = f
	}
	fm["field"] = field
	fm["fieldList"] = fieldList
	fm["fields"] = fields
	fm["silenceURL"] = silenceURL
	return fm
}

// alertmanagerFuncs are the DefaultFuncs of Alertmanager 0.35's template
// package, with its names, signatures and results; the differential test
// in test/amtemplate holds them to Alertmanager's output. routeLabels is
// bound to the data of each render (Templates.execute).
func alertmanagerFuncs() template.FuncMap {
	return template.FuncMap{
		"toUpper": strings.ToUpper,
		"toLower": strings.ToLower,
		"title": func(s string) string {
			// A caser must not be shared between goroutines.
			return cases.Title(language.AmericanEnglish).String(s)
		},
		"trimSpace":    strings.TrimSpace,
		"join":         join,
		"match":        regexp.MatchString,
		"safeHtml":     func(s string) htmltemplate.HTML { return htmltemplate.HTML(s) },
		"safeUrl":      func(s string) htmltemplate.URL { return htmltemplate.URL(s) },
		"urlUnescape":  url.QueryUnescape,
		"reReplaceAll": reReplaceAll,
		"stringSlice":  func(s ...string) []string { return s },
		"routeLabels":  func(string) string { return "" },
		"date":         func(layout string, t time.Time) string { return t.Format(layout) },
		"tz":           inZone,
		"now":          time.Now,
		"since":        time.Since,
		"humanizeDuration": func(v any) (string, error) {
			if n, ok := v.(json.Number); ok {
				v = n.String() // generic payloads decode numbers as json.Number
			}
			return promtemplates.HumanizeDuration(v)
		},
		"toDate": func(layout, s string) time.Time {
			t, _ := time.ParseInLocation(layout, s, time.UTC)
			return t
		},
		"mustToDate": func(layout, s string) (time.Time, error) {
			return time.ParseInLocation(layout, s, time.UTC)
		},
		"addDuration": func(ds string, t time.Time) (int64, error) {
			d, err := time.ParseDuration(ds)
			if err != nil {
				return 0, err
			}
			return t.Add(d).UnixMilli(), nil
		},
		"toJson": toJSON,
		// Alertmanager encodes and decodes base64 with the URL-safe alphabet.
		"base64encode": func(s string) string { return base64.URLEncoding.EncodeToString([]byte(s)) },
		"base64decode": func(s string) (string, error) {
			b, err := base64.URLEncoding.DecodeString(s)
			if err != nil {
				return "", fmt.Errorf("decode base64: %w", err)
			}
			return string(b), nil
		},
		"list": func(v ...any) []any {
			if v == nil {
				return []any{}
			}
			return v
		},
		"append": func(list []any, v ...any) []any { return append(list, v...) },
		"dict":   dict,
	}
}

// join is strings.Join with the separator first, for pipelines, over a
// list of any element type, each printed as fmt.Sprint prints it.
func join(sep string, v any) (string, error) {
	if s, ok := v.([]string); ok {
		return strings.Join(s, sep), nil
	}
	rv := reflect.ValueOf(v)
	switch {
	case !rv.IsValid():
		return "", nil
	case rv.Kind() == reflect.Slice, rv.Kind() == reflect.Array:
		parts := make([]string, 0, rv.Len())
		for i := range rv.Len() {
			parts = append(parts, fmt.Sprint(rv.Index(i).Interface()))
		}
		return strings.Join(parts, sep), nil
	}
	return "", fmt.Errorf("join expects a slice or array, got %T", v)
}

// reReplaceAll replaces every match of pattern in text with repl, which
// may refer to groups as $1.
func reReplaceAll(pattern, repl, text string) (string, error) {
	re, err := regexp.Compile(pattern)
	if err != nil {
		return "", err
	}
	return re.ReplaceAllString(text, repl), nil
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
		return nil, fmt.Errorf("dict requires an even number of arguments, got %d", len(kv))
	}
	m := make(map[string]any, len(kv)/2)
	for i := 0; i < len(kv); i += 2 {
		k, ok := kv[i].(string)
		if !ok {
			return nil, fmt.Errorf("dict keys must be strings: key %d is a %T", i/2, kv[i])
		}
		m[k] = kv[i+1]
	}
	return m, nil
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
