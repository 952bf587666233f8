package k8s

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// workload is a StatefulSet or a Deployment, reduced to what relay's checks read.
type workload struct {
	Kind     string
	Name     string
	Replicas int32
	Selector *metav1.LabelSelector
	Template corev1.PodTemplateSpec
	Claims   []corev1.PersistentVolumeClaim
}

// workloads returns the StatefulSets and Deployments among objs.
func workloads(objs []object) []workload {
	var out []workload
	for _, s := range ofKind[*appsv1.StatefulSet](objs) {
		out = append(out, workload{"StatefulSet", s.Name, replicas(s.Spec.Replicas), s.Spec.Selector, s.Spec.Template, s.Spec.VolumeClaimTemplates})
	}
	for _, d := range ofKind[*appsv1.Deployment](objs) {
		out = append(out, workload{"Deployment", d.Name, replicas(d.Spec.Replicas), d.Spec.Selector, d.Spec.Template, nil})
	}
	return out
}

// replicas is a workload's replica count; unset means 1.
func replicas(n *int32) int32 {
	if n == nil {
		return 1
	}
	return *n
}

// onlyWorkload returns the one workload of objs, failing the test otherwise.
func onlyWorkload(t testing.TB, objs []object) workload {
	t.Helper()
	ws := workloads(objs)
	if len(ws) != 1 {
		t.Fatalf("got %d StatefulSets and Deployments, want 1", len(ws))
	}
	return ws[0]
}

// relay returns the workload's container named relay.
func (w workload) relay(t testing.TB) corev1.Container {
	t.Helper()
	for _, c := range w.Template.Spec.Containers {
		if c.Name == "relay" {
			return c
		}
	}
	t.Fatalf("%s %s has no container named relay", w.Kind, w.Name)
	return corev1.Container{}
}

// selects reports whether the workload's pods carry every label of sel.
func (w workload) selects(sel map[string]string) bool {
	return len(sel) > 0 && labels.SelectorFromSet(sel).Matches(labels.Set(w.Template.Labels))
}

// envVar returns the container's variable name, or nil.
func envVar(c corev1.Container, name string) *corev1.EnvVar {
	for i := range c.Env {
		if c.Env[i].Name == name {
			return &c.Env[i]
		}
	}
	return nil
}

// envValue returns the plain value of the container's variable name.
func envValue(c corev1.Container, name string) string {
	if e := envVar(c, name); e != nil {
		return e.Value
	}
	return ""
}

// mountFor returns the volume mounted at the deepest mount path holding p.
func mountFor(c corev1.Container, p string) (volume, mountPath string) {
	for _, m := range c.VolumeMounts {
		if (p == m.MountPath || strings.HasPrefix(p, strings.TrimSuffix(m.MountPath, "/")+"/")) && len(m.MountPath) > len(mountPath) {
			volume, mountPath = m.Name, m.MountPath
		}
	}
	return volume, mountPath
}

// volume returns the pod's volume name, or nil.
func (w workload) volume(name string) *corev1.Volume {
	for i, v := range w.Template.Spec.Volumes {
		if v.Name == name {
			return &w.Template.Spec.Volumes[i]
		}
	}
	return nil
}

// checkRunsRelaySafely checks what every relay pod needs, however it is
// deployed: probes on /healthz and /readyz, a grace period longer than
// relay's shutdown timeout, non-root with a read-only root filesystem and a
// writable /tmp, memory requests and limits, and a selector that selects
// the pods.
func checkRunsRelaySafely(t *testing.T, w workload) {
	t.Helper()
	c := w.relay(t)
	pod := w.Template.Spec
	if w.Selector == nil || !w.selects(w.Selector.MatchLabels) || len(w.Selector.MatchExpressions) > 0 {
		t.Errorf("%s selector %v does not select its pod labels %v", w.Kind, w.Selector, w.Template.Labels)
	}
	if p := c.LivenessProbe; p == nil || p.HTTPGet == nil || p.HTTPGet.Path != "/healthz" {
		t.Errorf("liveness probe %+v, want GET /healthz", p)
	}
	if p := c.ReadinessProbe; p == nil || p.HTTPGet == nil || p.HTTPGet.Path != "/readyz" {
		t.Errorf("readiness probe %+v, want GET /readyz", p)
	}
	for _, p := range []*corev1.Probe{c.LivenessProbe, c.ReadinessProbe} {
		if p != nil && p.HTTPGet != nil && !hasPort(c, p.HTTPGet.Port.String()) {
			t.Errorf("probe port %s is not a port of the container", p.HTTPGet.Port.String())
		}
	}
	shutdown := 25 * time.Second // relay's default
	if v := envValue(c, "RELAY_SHUTDOWN_TIMEOUT"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatalf("RELAY_SHUTDOWN_TIMEOUT: %v", err)
		}
		shutdown = d
	}
	grace := 30 * time.Second // Kubernetes' default
	if pod.TerminationGracePeriodSeconds != nil {
		grace = time.Duration(*pod.TerminationGracePeriodSeconds) * time.Second
	}
	if grace <= shutdown {
		t.Errorf("terminationGracePeriodSeconds %v, want more than RELAY_SHUTDOWN_TIMEOUT %v", grace, shutdown)
	}
	if psc := pod.SecurityContext; psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot || psc.RunAsUser == nil || *psc.RunAsUser == 0 {
		t.Errorf("pod securityContext %+v, want runAsNonRoot and a non-zero runAsUser", psc)
	}
	sc := c.SecurityContext
	if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem ||
		sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
		sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) {
		t.Errorf("container securityContext %+v, want a read-only root, no privilege escalation, drop ALL", sc)
	}
	if vol, _ := mountFor(c, "/tmp/x"); vol == "" || w.volume(vol) == nil || w.volume(vol).EmptyDir == nil {
		t.Errorf("/tmp is not an emptyDir (volume %q): the root filesystem is read-only", vol)
	}
	if c.Resources.Requests.Memory().IsZero() || c.Resources.Limits.Memory().IsZero() {
		t.Errorf("resources %+v, want memory requests and limits", c.Resources)
	}
	if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
		t.Error("automountServiceAccountToken is not false: relay does not use the Kubernetes API")
	}
}

// hasPort reports whether the container has a port of that name or number.
func hasPort(c corev1.Container, port string) bool {
	return slices.ContainsFunc(c.Ports, func(p corev1.ContainerPort) bool {
		return p.Name == port || (p.ContainerPort > 0 && port == strconv.Itoa(int(p.ContainerPort)))
	})
}

// secretValue returns a Secret's key, from data or stringData.
func secretValue(s *corev1.Secret, key string) (string, bool) {
	if v, ok := s.StringData[key]; ok {
		return v, true
	}
	v, ok := s.Data[key]
	return string(v), ok
}

// secretKeys returns every key of a Secret, from data and stringData.
func secretKeys(s *corev1.Secret) map[string]string {
	out := map[string]string{}
	for k, v := range s.Data {
		out[k] = string(v)
	}
	for k, v := range s.StringData {
		out[k] = v
	}
	return out
}

// checkReferences checks that what the workload refers to exists: Secrets
// and ConfigMaps among objs (or, for names in external, created out of
// band), with the keys it reads; that RELAY_CONFIG is a key of a mounted
// ConfigMap; and that every Service and PodDisruptionBudget selects its pods.
func checkReferences(t *testing.T, objs []object, w workload, external ...string) {
	t.Helper()
	c := w.relay(t)
	secret := func(what, name, key string) {
		t.Helper()
		if slices.Contains(external, name) {
			return
		}
		s := named[*corev1.Secret](objs, name)
		if s == nil {
			t.Errorf("%s refers to Secret %s, which is not there", what, name)
			return
		}
		if _, ok := secretValue(s, key); key != "" && !ok {
			t.Errorf("%s refers to key %s of Secret %s, which has no such key", what, key, name)
		}
	}
	for _, e := range c.Env {
		if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
			secret(e.Name, e.ValueFrom.SecretKeyRef.Name, e.ValueFrom.SecretKeyRef.Key)
		}
	}
	for _, e := range c.EnvFrom {
		if e.SecretRef != nil {
			secret("envFrom", e.SecretRef.Name, "")
		}
	}
	for _, v := range w.Template.Spec.Volumes {
		if v.ConfigMap == nil || slices.Contains(external, v.ConfigMap.Name) {
			continue
		}
		cm := named[*corev1.ConfigMap](objs, v.ConfigMap.Name)
		if cm == nil {
			t.Errorf("volume %s refers to ConfigMap %s, which is not there", v.Name, v.ConfigMap.Name)
			continue
		}
		for _, it := range v.ConfigMap.Items {
			if _, ok := cm.Data[it.Key]; !ok {
				t.Errorf("volume %s refers to key %s of ConfigMap %s, which has no such key", v.Name, it.Key, cm.Name)
			}
		}
	}
	if file := envValue(c, "RELAY_CONFIG"); file != "" {
		if _, _, err := configMapFile(objs, w, file, external); err != nil {
			t.Errorf("RELAY_CONFIG: %v", err)
		}
	}
	for _, s := range ofKind[*corev1.Service](objs) {
		if !w.selects(s.Spec.Selector) {
			t.Errorf("Service %s selector %v does not select the relay pods %v", s.Name, s.Spec.Selector, w.Template.Labels)
		}
		for _, p := range s.Spec.Ports {
			if !hasPort(c, p.TargetPort.String()) {
				t.Errorf("Service %s port %s targets %s, which the container does not have", s.Name, p.Name, p.TargetPort.String())
			}
		}
	}
	// Every namespace has the ServiceAccount "default".
	if sa := w.Template.Spec.ServiceAccountName; sa != "" && sa != "default" && !slices.Contains(external, sa) &&
		named[*corev1.ServiceAccount](objs, sa) == nil {
		t.Errorf("serviceAccountName %s: no such ServiceAccount", sa)
	}
}

// configMapFile finds the ConfigMap and key that the pod sees at path. It
// returns a nil ConfigMap for one in external.
func configMapFile(objs []object, w workload, path string, external []string) (*corev1.ConfigMap, string, error) {
	c := w.Template.Spec.Containers[0]
	for _, cc := range w.Template.Spec.Containers {
		if cc.Name == "relay" {
			c = cc
		}
	}
	volName, dir := mountFor(c, path)
	v := w.volume(volName)
	if volName == "" || v == nil || v.ConfigMap == nil {
		return nil, "", fmt.Errorf("%s is not on a mounted ConfigMap volume", path)
	}
	rel := strings.TrimPrefix(path, strings.TrimSuffix(dir, "/")+"/")
	key := rel
	if len(v.ConfigMap.Items) > 0 {
		key = ""
		for _, it := range v.ConfigMap.Items {
			if it.Path == rel {
				key = it.Key
			}
		}
		if key == "" {
			return nil, "", fmt.Errorf("%s: volume %s does not project %s", path, volName, rel)
		}
	}
	if slices.Contains(external, v.ConfigMap.Name) {
		return nil, key, nil
	}
	cm := named[*corev1.ConfigMap](objs, v.ConfigMap.Name)
	if cm == nil {
		return nil, "", fmt.Errorf("%s: ConfigMap %s is not there", path, v.ConfigMap.Name)
	}
	if _, ok := cm.Data[key]; !ok {
		return nil, "", fmt.Errorf("%s: ConfigMap %s has no key %s", path, cm.Name, key)
	}
	return cm, key, nil
}

// checkConfig runs `relay check-config` on the routes file the workload's
// pod sees, with the pod's environment: plain values, and the values of
// Secrets among objs. The outbox is a SQLite file in a temporary folder.
func checkConfig(t *testing.T, objs []object, w workload) (string, error) {
	t.Helper()
	c := w.relay(t)
	dir := t.TempDir()
	env := map[string]string{}
	for _, e := range c.EnvFrom {
		if e.SecretRef != nil {
			if s := named[*corev1.Secret](objs, e.SecretRef.Name); s != nil {
				for k, v := range secretKeys(s) {
					env[e.Prefix+k] = v
				}
			}
		}
	}
	for _, e := range c.Env {
		v := e.Value
		if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
			if s := named[*corev1.Secret](objs, e.ValueFrom.SecretKeyRef.Name); s != nil {
				v, _ = secretValue(s, e.ValueFrom.SecretKeyRef.Key)
			}
		}
		env[e.Name] = v
	}
	env["RELAY_STORE"] = "sqlite://" + filepath.Join(dir, "relay.db")
	for _, name := range []string{"RELAY_CONFIG", "RELAY_TEMPLATES"} {
		path := env[name]
		if path == "" {
			continue
		}
		local := filepath.Join(dir, strings.ToLower(strings.TrimPrefix(name, "RELAY_")))
		if name == "RELAY_CONFIG" {
			cm, key, err := configMapFile(objs, w, path, nil)
			if err != nil {
				t.Fatal(err)
			}
			writeFile(t, local, cm.Data[key])
		} else {
			vol, mountPath := mountFor(c, path)
			v := w.volume(vol)
			if mountPath != path || v == nil || v.ConfigMap == nil || named[*corev1.ConfigMap](objs, v.ConfigMap.Name) == nil {
				t.Fatalf("RELAY_TEMPLATES %s is not a mounted ConfigMap of the chart", path)
			}
			for k, text := range named[*corev1.ConfigMap](objs, v.ConfigMap.Name).Data {
				writeFile(t, filepath.Join(local, k), text)
			}
		}
		env[name] = local
	}
	if env["RELAY_CONFIG"] == "" {
		t.Fatal("the pod has no RELAY_CONFIG")
	}
	cmd := exec.Command(relayBinary(t), "check-config")
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func writeFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
}
