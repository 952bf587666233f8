package k8s

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	monitoringv1alpha1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1alpha1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

// apiTypes are the kinds relay's packaging may contain, by apiVersion and
// kind, with the Go type each is decoded into. A kind not listed here fails
// the tests: add it deliberately, with its type.
var apiTypes = map[string]func() metav1.Object{
	"v1/ConfigMap":                            func() metav1.Object { return &corev1.ConfigMap{} },
	"v1/Secret":                               func() metav1.Object { return &corev1.Secret{} },
	"v1/Service":                              func() metav1.Object { return &corev1.Service{} },
	"v1/ServiceAccount":                       func() metav1.Object { return &corev1.ServiceAccount{} },
	"apps/v1/StatefulSet":                     func() metav1.Object { return &appsv1.StatefulSet{} },
	"apps/v1/Deployment":                      func() metav1.Object { return &appsv1.Deployment{} },
	"policy/v1/PodDisruptionBudget":           func() metav1.Object { return &policyv1.PodDisruptionBudget{} },
	"networking.k8s.io/v1/NetworkPolicy":      func() metav1.Object { return &networkingv1.NetworkPolicy{} },
	"networking.k8s.io/v1/Ingress":            func() metav1.Object { return &networkingv1.Ingress{} },
	"monitoring.coreos.com/v1/ServiceMonitor": func() metav1.Object { return &monitoringv1.ServiceMonitor{} },
	"monitoring.coreos.com/v1/PrometheusRule": func() metav1.Object { return &monitoringv1.PrometheusRule{} },
	"monitoring.coreos.com/v1alpha1/AlertmanagerConfig": func() metav1.Object {
		return &monitoringv1alpha1.AlertmanagerConfig{}
	},
}

// object is one Kubernetes object, decoded into its API type.
type object struct {
	Source string // file, or chart template, it came from
	Kind   string
	Obj    metav1.Object
}

func (o object) String() string { return fmt.Sprintf("%s %s (%s)", o.Kind, o.Obj.GetName(), o.Source) }

// documentSeparator splits a multi-document YAML stream.
var documentSeparator = regexp.MustCompile(`(?m)^---[ \t]*$`)

// sourceComment is the line helm template puts before each document.
var sourceComment = regexp.MustCompile(`(?m)^# Source: (\S+)`)

// decodeStrict decodes YAML into v as the API server would, but failing on
// any field v's type does not have, and on duplicate keys.
func decodeStrict(data []byte, v any) error {
	j, err := yaml.YAMLToJSONStrict(data)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(j))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return fmt.Errorf("trailing data after the document")
	}
	return nil
}

// decodeObjects decodes every document of a YAML stream into its
// Kubernetes API type, strictly. source names the stream in messages;
// helm's "# Source:" comments, where present, name each document instead.
func decodeObjects(t testing.TB, source string, data []byte) []object {
	t.Helper()
	var out []object
	for i, doc := range documentSeparator.Split(string(data), -1) {
		src := fmt.Sprintf("%s, document %d", source, i+1)
		if m := sourceComment.FindStringSubmatch(doc); m != nil {
			src = m[1]
		}
		var meta metav1.TypeMeta
		if err := yaml.Unmarshal([]byte(doc), &meta); err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		if meta == (metav1.TypeMeta{}) {
			if strings.TrimSpace(stripComments(doc)) != "" {
				t.Fatalf("%s: a document without apiVersion and kind:\n%s", src, doc)
			}
			continue // empty, or comments only
		}
		newObj, ok := apiTypes[meta.APIVersion+"/"+meta.Kind]
		if !ok {
			t.Fatalf("%s: %s %s is not a kind these tests know", src, meta.APIVersion, meta.Kind)
		}
		obj := newObj()
		if err := decodeStrict([]byte(doc), obj); err != nil {
			t.Fatalf("%s: decode %s: %v", src, meta.Kind, err)
		}
		if obj.GetName() == "" {
			t.Fatalf("%s: %s without metadata.name", src, meta.Kind)
		}
		out = append(out, object{Source: src, Kind: meta.Kind, Obj: obj})
	}
	return out
}

// stripComments removes YAML comment lines.
func stripComments(doc string) string {
	var b strings.Builder
	for _, line := range strings.Split(doc, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(line), "#") {
			b.WriteString(line + "\n")
		}
	}
	return b.String()
}

// ofKind returns the objects of kind, as their type T.
func ofKind[T metav1.Object](objs []object) []T {
	var out []T
	for _, o := range objs {
		if v, ok := o.Obj.(T); ok {
			out = append(out, v)
		}
	}
	return out
}

// only returns the one object of type T, failing the test if there is not
// exactly one.
func only[T metav1.Object](t testing.TB, objs []object) T {
	t.Helper()
	found := ofKind[T](objs)
	if len(found) != 1 {
		var zero T
		t.Fatalf("got %d objects of type %T, want 1 (have %v)", len(found), zero, objs)
	}
	return found[0]
}

// named returns the object of type T named name, or nil.
func named[T metav1.Object](objs []object, name string) T {
	for _, v := range ofKind[T](objs) {
		if v.GetName() == name {
			return v
		}
	}
	var zero T
	return zero
}

// TestDecodeStrictRejectsUnknownFields shows that the decoding these tests
// rely on fails on a misspelt field, a misplaced one and a duplicate key.
func TestDecodeStrictRejectsUnknownFields(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		doc  string
	}{
		{"misspelt field", "apiVersion: v1\nkind: Service\nmetadata: {name: x}\nspec: {selectr: {a: b}}\n"},
		{"field at the wrong level", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec: {template: {spec: {containers: [{name: a, readOnlyRootFilesystem: true}]}}}\n"},
		{"duplicate key", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: {a: b, a: c}\n"},
		{"wrong type", "apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: x}\nspec: {replicas: one}\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var meta metav1.TypeMeta
			if err := yaml.Unmarshal([]byte(tt.doc), &meta); err != nil {
				t.Fatal(err)
			}
			v := apiTypes[meta.APIVersion+"/"+meta.Kind]()
			if err := decodeStrict([]byte(tt.doc), v); err == nil {
				t.Errorf("decoded %q without an error", tt.doc)
			}
		})
	}
	good := "apiVersion: v1\nkind: Service\nmetadata: {name: x}\nspec: {selector: {a: b}, ports: [{port: 80, targetPort: http}]}\n"
	if objs := decodeObjects(t, "good", []byte(good)); len(objs) != 1 {
		t.Errorf("got %d objects from a good Service, want 1", len(objs))
	}
}
