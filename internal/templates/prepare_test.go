package templates_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/relayhq/relay/internal/alert"
	"github.com/relayhq/relay/internal/senders/chatwork"
	"github.com/relayhq/relay/internal/templates"
)

// TestCopyDataNeutralizesEveryString sets every string reachable in a Data
// (found by reflection, so fields added later are covered) to a tag, and
// checks the copy holds no live tag while the original is untouched.
func TestCopyDataNeutralizesEveryString(t *testing.T) {
	t.Parallel()
	const evil = "[toall]"
	d := &alert.Data{
		Alerts:  alert.Alerts{{Values: map[string]float64{evil: 1}, StartsAt: time.Unix(1, 0)}},
		Payload: map[string]any{evil: []any{evil, map[string]any{evil: evil}}, "null": nil, "n": 1.5},
	}
	fill(reflect.ValueOf(d).Elem(), evil)
	d.Alerts[0].Labels, d.Alerts[0].Annotations = alert.KV{evil: evil}, alert.KV{evil: evil}
	d.GroupLabels, d.CommonLabels, d.CommonAnnotations = alert.KV{evil: evil}, alert.KV{evil: evil}, alert.KV{evil: evil}

	c := templates.CopyData(d, chatwork.Neutralize)

	var strs []string
	collect(reflect.ValueOf(c).Elem(), &strs)
	if len(strs) < 20 {
		t.Fatalf("found %d strings in the copy, want every field and map entry", len(strs))
	}
	for _, s := range strs {
		if chatwork.Neutralize(s) != s {
			t.Errorf("copy holds a live tag: %q", s)
		}
	}
	if d.Receiver != evil || d.Alerts[0].Labels[evil] != evil || d.Payload[evil].([]any)[0] != evil {
		t.Errorf("copyData changed the original Data")
	}
	if v, ok := c.Payload["null"]; !ok || v != nil {
		t.Errorf("copy Payload[null] = %v, %v; want a nil value kept", v, ok)
	}
	if c.Payload["n"] != 1.5 {
		t.Errorf("copy Payload[n] = %v, want 1.5", c.Payload["n"])
	}
	if !c.Alerts[0].StartsAt.Equal(time.Unix(1, 0)) {
		t.Errorf("copy StartsAt = %v, want the original time", c.Alerts[0].StartsAt)
	}
}

// fill sets every string field of a struct (and of structs in slices) to s.
func fill(v reflect.Value, s string) {
	switch v.Kind() {
	case reflect.String:
		v.SetString(s)
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Field(i).CanSet() {
				fill(v.Field(i), s)
			}
		}
	case reflect.Slice:
		for i := range v.Len() {
			fill(v.Index(i), s)
		}
	}
}

// collect appends every string reachable from v, map keys included.
func collect(v reflect.Value, out *[]string) {
	switch v.Kind() {
	case reflect.String:
		*out = append(*out, v.String())
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				collect(v.Field(i), out)
			}
		}
	case reflect.Slice:
		for i := range v.Len() {
			collect(v.Index(i), out)
		}
	case reflect.Map:
		for it := v.MapRange(); it.Next(); {
			collect(it.Key(), out)
			collect(it.Value(), out)
		}
	case reflect.Interface, reflect.Pointer:
		if !v.IsNil() {
			collect(v.Elem(), out)
		}
	}
}
