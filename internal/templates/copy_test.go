package templates

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/relayhq/relay/internal/alert"
)

// TestCopyDataMatchesReflectiveCopy holds the hand-written copy of the
// model to the reflective one, over a Data with every field of every
// nested type set (so a field added to the model and forgotten in copyData
// fails here), and insists that no map or slice is shared with the
// original.
func TestCopyDataMatchesReflectiveCopy(t *testing.T) {
	t.Parallel()
	full := &alert.Data{}
	n := 0
	populate(reflect.ValueOf(full).Elem(), &n)
	for _, c := range []struct {
		name string
		data *alert.Data
	}{
		{"every field set", full},
		{"zero data (nil maps stay nil)", &alert.Data{}},
		{"alerts with nil maps", &alert.Data{Alerts: alert.Alerts{{Status: "[info]firing"}}}},
	} {
		for _, f := range []struct {
			name string
			fn   func(string) string
		}{{"neutralize", Neutralize}, {"identity", identity}} {
			t.Run(c.name+"/"+f.name, func(t *testing.T) {
				t.Parallel()
				want := copyValue(reflect.ValueOf(c.data).Elem(), f.fn).Interface().(alert.Data)
				got := copyData(c.data, f.fn)
				if !reflect.DeepEqual(*got, want) {
					t.Errorf("copyData =\n%+v\nwant (reflective copy)\n%+v", *got, want)
				}
				for _, p := range shared(reflect.ValueOf(c.data).Elem(), reflect.ValueOf(got).Elem(), "Data") {
					t.Errorf("%s is shared with the original", p)
				}
			})
		}
	}
}

// populate sets every settable field reachable from v to a distinct
// non-zero value that holds a would-be Chatwork tag; maps get one entry
// and slices two elements.
func populate(v reflect.Value, n *int) {
	*n++
	switch v.Kind() {
	case reflect.String:
		v.SetString(fmt.Sprintf("[toall] s%d", *n))
	case reflect.Int, reflect.Int64:
		v.SetInt(int64(*n))
	case reflect.Float64:
		v.SetFloat(float64(*n) + 0.5)
	case reflect.Interface:
		v.Set(reflect.ValueOf([]any{fmt.Sprintf("[info] any%d", *n), map[string]any{"[to:1]": "x"}}))
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
		populate(k, n)
		populate(e, n)
		m.SetMapIndex(k, e)
		v.Set(m)
	case reflect.Slice:
		s := reflect.MakeSlice(v.Type(), 2, 2)
		for i := range 2 {
			populate(s.Index(i), n)
		}
		v.Set(s)
	case reflect.Struct:
		if v.Type() == reflect.TypeFor[time.Time]() {
			v.Set(reflect.ValueOf(time.Unix(int64(*n), 0)))
			return
		}
		for i := range v.NumField() {
			if v.Field(i).CanSet() {
				populate(v.Field(i), n)
			}
		}
	}
}

// shared returns the paths at which a and b (a copy of a) hold the same
// map or slice.
func shared(a, b reflect.Value, path string) []string {
	var out []string
	switch a.Kind() {
	case reflect.Map:
		if !a.IsNil() && a.UnsafePointer() == b.UnsafePointer() {
			return []string{path}
		}
		for it := a.MapRange(); it.Next(); {
			if bv := b.MapIndex(it.Key()); bv.IsValid() {
				out = append(out, shared(it.Value(), bv, fmt.Sprintf("%s[%v]", path, it.Key()))...)
			}
		}
	case reflect.Slice:
		if a.Len() > 0 && b.Len() > 0 && a.UnsafePointer() == b.UnsafePointer() {
			return []string{path}
		}
		for i := range min(a.Len(), b.Len()) {
			out = append(out, shared(a.Index(i), b.Index(i), fmt.Sprintf("%s[%d]", path, i))...)
		}
	case reflect.Interface:
		if !a.IsNil() && !b.IsNil() && a.Elem().Type() == b.Elem().Type() {
			out = shared(a.Elem(), b.Elem(), path)
		}
	case reflect.Struct:
		for i := range a.NumField() {
			if a.Type().Field(i).IsExported() {
				out = append(out, shared(a.Field(i), b.Field(i), path+"."+a.Type().Field(i).Name)...)
			}
		}
	}
	return out
}
