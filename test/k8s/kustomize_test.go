package k8s

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
)

// kustomization is the part of kustomize's Kustomization that
// deploy/kubernetes uses. It is decoded strictly: a field these tests do not
// understand fails them rather than being ignored.
type kustomization struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Labels     []struct {
		Pairs            map[string]string `json:"pairs"`
		IncludeSelectors bool              `json:"includeSelectors,omitempty"`
		IncludeTemplates bool              `json:"includeTemplates,omitempty"`
	} `json:"labels,omitempty"`
	Resources []string `json:"resources,omitempty"`
	Images    []struct {
		Name    string `json:"name"`
		NewName string `json:"newName,omitempty"`
		NewTag  string `json:"newTag,omitempty"`
	} `json:"images,omitempty"`
	Patches []struct {
		Patch string `json:"patch"`
	} `json:"patches,omitempty"`
}

// readKustomization decodes dir/kustomization.yaml.
func readKustomization(t *testing.T, dir string) kustomization {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "kustomization.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var k kustomization
	if err := decodeStrict(b, &k); err != nil {
		t.Fatalf("%s/kustomization.yaml: %v", dir, err)
	}
	if k.APIVersion != "kustomize.config.k8s.io/v1beta1" || k.Kind != "Kustomization" {
		t.Fatalf("%s/kustomization.yaml is a %s %s, want a kustomize.config.k8s.io/v1beta1 Kustomization", dir, k.APIVersion, k.Kind)
	}
	return k
}

// kustomize builds the objects of a kustomization as `kubectl kustomize`
// would, for what deploy/kubernetes uses: resources (files and other
// kustomizations), delete patches, labels on metadata and image tags.
// Anything else fails the test.
func kustomize(t *testing.T, dir string) []object {
	t.Helper()
	k := readKustomization(t, dir)
	var objs []object
	for _, r := range k.Resources {
		p := filepath.Join(dir, r)
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatalf("%s: resource %s: %v", dir, r, err)
		}
		if fi.IsDir() {
			objs = append(objs, kustomize(t, p)...)
			continue
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		objs = append(objs, decodeObjects(t, p, b)...)
	}
	for _, p := range k.Patches {
		var del struct {
			Patch      string `json:"$patch"`
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
			Metadata   struct {
				Name string `json:"name"`
			} `json:"metadata"`
		}
		if err := decodeStrict([]byte(p.Patch), &del); err != nil || del.Patch != "delete" {
			t.Fatalf("%s: a patch these tests cannot apply (only $patch: delete): %v\n%s", dir, err, p.Patch)
		}
		n := len(objs)
		objs = slices.DeleteFunc(objs, func(o object) bool { return o.Kind == del.Kind && o.Obj.GetName() == del.Metadata.Name })
		if len(objs) != n-1 {
			t.Fatalf("%s: the delete patch of %s %s matches %d objects, want 1", dir, del.Kind, del.Metadata.Name, n-len(objs))
		}
	}
	for _, l := range k.Labels {
		if l.IncludeSelectors || l.IncludeTemplates {
			t.Fatalf("%s: labels with includeSelectors or includeTemplates: these tests do not apply them", dir)
		}
		for _, o := range objs {
			labels := o.Obj.GetLabels()
			if labels == nil {
				labels = map[string]string{}
			}
			for key, v := range l.Pairs {
				labels[key] = v
			}
			o.Obj.SetLabels(labels)
		}
	}
	for _, img := range k.Images {
		for _, o := range objs {
			for _, spec := range podSpecs(o) {
				for i := range spec.Containers {
					c := &spec.Containers[i]
					name, tag, _ := strings.Cut(c.Image, ":")
					if name != img.Name {
						continue
					}
					if img.NewName != "" {
						name = img.NewName
					}
					if img.NewTag != "" {
						tag = img.NewTag
					}
					c.Image = name + ":" + tag
				}
			}
		}
	}
	return objs
}

// podSpecs returns the pod specs of a workload object, to change in place.
func podSpecs(o object) []*corev1.PodSpec {
	switch v := o.Obj.(type) {
	case *appsv1.StatefulSet:
		return []*corev1.PodSpec{&v.Spec.Template.Spec}
	case *appsv1.Deployment:
		return []*corev1.PodSpec{&v.Spec.Template.Spec}
	}
	return nil
}

// kustomizeDirs are the kustomizations under deploy/kubernetes.
var kustomizeDirs = []string{"deploy/kubernetes", "deploy/kubernetes/postgres"}

func TestDeployKustomizationsListEveryManifest(t *testing.T) {
	t.Parallel()
	found := map[string]bool{}
	err := filepath.WalkDir(filepath.Join(repoRoot, "deploy"), func(p string, d os.DirEntry, err error) error {
		if err == nil && d.Name() == "kustomization.yaml" {
			rel, _ := filepath.Rel(repoRoot, filepath.Dir(p))
			found[rel] = true
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if have := sortedKeys(found); !slices.Equal(have, kustomizeDirs) {
		t.Fatalf("kustomizations %v, want %v (update kustomizeDirs and the shape tests)", have, kustomizeDirs)
	}
	for _, rel := range kustomizeDirs {
		dir := filepath.Join(repoRoot, rel)
		k := readKustomization(t, dir)
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if !e.IsDir() && e.Name() != "kustomization.yaml" && !slices.Contains(k.Resources, e.Name()) {
				t.Errorf("%s/kustomization.yaml does not list %s", rel, e.Name())
			}
		}
	}
}

func TestDeployKubernetesShapes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		dir   string
		check func(t *testing.T, objs []object, w workload)
	}{
		{"deploy/kubernetes", checkSQLiteShape},
		{"deploy/kubernetes/postgres", checkKustomizePostgresShape},
	}
	for _, tt := range tests {
		t.Run(tt.dir, func(t *testing.T) {
			t.Parallel()
			objs := kustomize(t, filepath.Join(repoRoot, tt.dir))
			w := onlyWorkload(t, objs)
			checkRunsRelaySafely(t, w)
			checkReferences(t, objs, w)
			for _, o := range objs {
				if o.Obj.GetLabels()["app.kubernetes.io/part-of"] != "relay" {
					t.Errorf("%s: no app.kubernetes.io/part-of=relay label", o)
				}
			}
			if img := w.relay(t).Image; img != "ghcr.io/relayhq/relay:latest" {
				t.Errorf("image %s, want the kustomization's ghcr.io/relayhq/relay:latest", img)
			}
			if a := w.Template.Annotations; a["prometheus.io/scrape"] != "true" || a["prometheus.io/path"] != "/metrics" || a["prometheus.io/port"] != "8080" {
				t.Errorf("pod annotations %v, want a prometheus.io scrape of :8080/metrics", a)
			}
			tt.check(t, objs, w)
		})
	}
}

// checkKustomizePostgresShape: several Deployment replicas whose
// RELAY_STORE is a postgres:// URL from a Secret, no StatefulSet, and a
// disruption budget that keeps some up.
func checkKustomizePostgresShape(t *testing.T, objs []object, w workload) {
	t.Helper()
	if w.Kind != "Deployment" || w.Replicas < 2 {
		t.Fatalf("got a %s of %d replicas, want a Deployment of several", w.Kind, w.Replicas)
	}
	store := envVar(w.relay(t), "RELAY_STORE")
	if store == nil || store.ValueFrom == nil || store.ValueFrom.SecretKeyRef == nil {
		t.Fatal("RELAY_STORE is not read from a Secret; it holds the database password")
	}
	ref := store.ValueFrom.SecretKeyRef
	if s := named[*corev1.Secret](objs, ref.Name); s == nil {
		t.Errorf("no Secret %s", ref.Name)
	} else if url, _ := secretValue(s, ref.Key); !strings.HasPrefix(url, "postgres://") {
		t.Errorf("Secret %s key %s = %q, want a postgres:// URL", ref.Name, ref.Key, url)
	}
	for _, v := range w.Template.Spec.Volumes {
		if v.ConfigMap == nil && v.EmptyDir == nil {
			t.Errorf("volume %s is neither a ConfigMap nor an emptyDir: replicas are stateless", v.Name)
		}
	}
	pdb := only[*policyv1.PodDisruptionBudget](t, objs)
	if m := pdb.Spec.MinAvailable; m == nil || m.IntVal < 1 || m.IntVal >= w.Replicas {
		t.Errorf("PodDisruptionBudget minAvailable %v with %d replicas, want between 1 and replicas-1", m, w.Replicas)
	}
	if pdb.Spec.Selector == nil || !w.selects(pdb.Spec.Selector.MatchLabels) {
		t.Errorf("PodDisruptionBudget selector %v does not select the relay pods", pdb.Spec.Selector)
	}
}

func TestDeployRoutesFilePassesCheckConfig(t *testing.T) {
	t.Parallel()
	for _, dir := range kustomizeDirs {
		t.Run(dir, func(t *testing.T) {
			t.Parallel()
			objs := kustomize(t, filepath.Join(repoRoot, dir))
			out, err := checkConfig(t, objs, onlyWorkload(t, objs))
			if err != nil || !strings.Contains(out, ": OK (") {
				t.Errorf("relay check-config of the ConfigMap's relay.yml: %v\n%s", err, out)
			}
		})
	}
}
