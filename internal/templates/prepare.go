package templates

import (
	"reflect"

	"github.com/relayhq/relay/internal/alert"
)

// prepare returns the data a template sees: a private deep copy of d, so
// that a template function that changes a map (sprig's set and unset on
// .Payload) never touches the caller's Data, with every string neutralised
// as the notation says.
func prepare(n Notation, d *alert.Data) *alert.Data {
	if n.Neutralize != nil {
		return copyData(d, n.Neutralize)
	}
	return copyData(d, func(s string) string { return s })
}

// copyData returns a deep copy of d with f applied to every string in it,
// map keys included.
func copyData(d *alert.Data, f func(string) string) *alert.Data {
	c := copyValue(reflect.ValueOf(*d), f).Interface().(alert.Data)
	return &c
}

// copyValue returns a deep copy of v with f applied to every string in it,
// walking v by reflection.
func copyValue(v reflect.Value, f func(string) string) reflect.Value {
	switch v.Kind() {
	case reflect.String:
		out := reflect.New(v.Type()).Elem()
		out.SetString(f(v.String()))
		return out
	case reflect.Map:
		if v.IsNil() {
			return v
		}
		out := reflect.MakeMapWithSize(v.Type(), v.Len())
		for it := v.MapRange(); it.Next(); {
			out.SetMapIndex(copyValue(it.Key(), f), copyValue(it.Value(), f))
		}
		return out
	case reflect.Slice:
		if v.IsNil() {
			return v
		}
		out := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
		for i := range v.Len() {
			out.Index(i).Set(copyValue(v.Index(i), f))
		}
		return out
	case reflect.Pointer:
		if v.IsNil() {
			return v
		}
		out := reflect.New(v.Type().Elem())
		out.Elem().Set(copyValue(v.Elem(), f))
		return out
	case reflect.Interface:
		if v.IsNil() {
			return v
		}
		out := reflect.New(v.Type()).Elem()
		out.Set(copyValue(v.Elem(), f))
		return out
	case reflect.Struct:
		// Copy the whole struct first: unexported fields (time.Time's) hold
		// no alert text and are kept as they are.
		out := reflect.New(v.Type()).Elem()
		out.Set(v)
		for i := range v.NumField() {
			if out.Field(i).CanSet() {
				out.Field(i).Set(copyValue(v.Field(i), f))
			}
		}
		return out
	default:
		return v
	}
}
