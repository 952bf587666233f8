package templates

import (
	"reflect"

	"github.com/relayhq/relay/internal/alert"
)

// copyData returns a deep copy of d with f applied to every string in it
// (map keys included). Templates get the copy, so a template function that
// mutates a map (sprig's set, unset) never touches the caller's Data, and
// for Chatwork f neutralises everything the alert carries.
//
// The model's fields are copied by hand: walking them by reflection was a
// tenth of a render. TestCopyDataMatchesReflectiveCopy compares the result
// with copyValue's over a Data with every field set, so a field added to
// the model and not here fails it. Payload (decoded JSON of any shape) is
// copied by copyValue.
func copyData(d *alert.Data, f func(string) string) *alert.Data {
	c := *d
	c.Receiver = f(d.Receiver)
	c.Status = f(d.Status)
	c.Alerts = copyAlerts(d.Alerts, f)
	c.GroupLabels = copyKV(d.GroupLabels, f)
	c.CommonLabels = copyKV(d.CommonLabels, f)
	c.CommonAnnotations = copyKV(d.CommonAnnotations, f)
	c.ExternalURL = f(d.ExternalURL)
	c.Source = f(d.Source)
	c.Kind = f(d.Kind)
	c.GroupKey = f(d.GroupKey)
	c.Title = f(d.Title)
	c.Message = f(d.Message)
	if d.Payload != nil {
		c.Payload = copyValue(reflect.ValueOf(d.Payload), f).Interface().(map[string]any)
	}
	c.Text = f(d.Text)
	return &c
}

// copyAlerts copies as, each alert as copyData does; nil stays nil.
func copyAlerts(as alert.Alerts, f func(string) string) alert.Alerts {
	if as == nil {
		return nil
	}
	out := make(alert.Alerts, len(as))
	for i, a := range as {
		out[i] = alert.Alert{
			Status:       f(a.Status),
			Labels:       copyKV(a.Labels, f),
			Annotations:  copyKV(a.Annotations, f),
			StartsAt:     a.StartsAt,
			EndsAt:       a.EndsAt,
			GeneratorURL: f(a.GeneratorURL),
			Fingerprint:  f(a.Fingerprint),
			ValueString:  f(a.ValueString),
			DashboardURL: f(a.DashboardURL),
			PanelURL:     f(a.PanelURL),
			SilenceURL:   f(a.SilenceURL),
			ImageURL:     f(a.ImageURL),
		}
		if a.Values != nil {
			vs := make(map[string]float64, len(a.Values))
			for k, v := range a.Values {
				vs[f(k)] = v
			}
			out[i].Values = vs
		}
	}
	return out
}

// copyKV copies kv with f applied to names and values; nil stays nil.
func copyKV(kv alert.KV, f func(string) string) alert.KV {
	if kv == nil {
		return nil
	}
	out := make(alert.KV, len(kv))
	for k, v := range kv {
		out[f(k)] = f(v)
	}
	return out
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
