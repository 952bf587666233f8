package templates

import (
	"reflect"

	"github.com/relayhq/relay/internal/alert"
)

// Prepared is alert data made ready for the templates of one notation:
// what prepare returns, with the notation it was made for. Rendering a
// message and its one-line form from one Prepared copies and neutralises
// the data once. A template that changes a map of the data (sprig's set
// and unset on .Payload) changes it for every later render from the same
// Prepared; the caller's Data is never touched.
type Prepared struct {
	n Notation
	d *alert.Data
}

// Prepare makes d ready for the templates of notation n.
func Prepare(n Notation, d *alert.Data) *Prepared {
	return &Prepared{n: n, d: prepare(n, d)}
}

// Notation is the notation p was prepared for.
func (p *Prepared) Notation() Notation { return p.n }

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
	c := new(alert.Data)
	copyInto(reflect.ValueOf(c).Elem(), reflect.ValueOf(*d), f)
	return c
}

// copyInto sets dst, a settable value of src's type, to a deep copy of src
// with f applied to every string in it, walking src by reflection. It
// overwrites all of dst, so that one dst can be reused for every key or
// value of a map.
func copyInto(dst, src reflect.Value, f func(string) string) {
	switch src.Kind() {
	case reflect.String:
		dst.SetString(f(src.String()))
	case reflect.Map:
		if src.IsNil() {
			dst.SetZero()
			return
		}
		m := reflect.MakeMapWithSize(src.Type(), src.Len())
		k := reflect.New(src.Type().Key()).Elem()
		v := reflect.New(src.Type().Elem()).Elem()
		for it := src.MapRange(); it.Next(); {
			copyInto(k, it.Key(), f)
			copyInto(v, it.Value(), f)
			m.SetMapIndex(k, v)
		}
		dst.Set(m)
	case reflect.Slice:
		if src.IsNil() {
			dst.SetZero()
			return
		}
		s := reflect.MakeSlice(src.Type(), src.Len(), src.Len())
		for i := range src.Len() {
			copyInto(s.Index(i), src.Index(i), f)
		}
		dst.Set(s)
	case reflect.Pointer:
		if src.IsNil() {
			dst.SetZero()
			return
		}
		p := reflect.New(src.Type().Elem())
		copyInto(p.Elem(), src.Elem(), f)
		dst.Set(p)
	case reflect.Interface:
		if src.IsNil() {
			dst.SetZero()
			return
		}
		e := reflect.New(src.Elem().Type()).Elem()
		copyInto(e, src.Elem(), f)
		dst.Set(e)
	case reflect.Struct:
		// Copy the whole struct first: unexported fields (time.Time's) hold
		// no alert text and are kept as they are.
		dst.Set(src)
		for i := range src.NumField() {
			if dst.Field(i).CanSet() {
				copyInto(dst.Field(i), src.Field(i), f)
			}
		}
	default:
		dst.Set(src)
	}
}
