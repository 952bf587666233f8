package k8s

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// chartDir is the chart under test.
const chartDir = repoRoot + "/charts/relay"

// Release and namespace the chart is rendered as: a release name other than
// the chart's shows that no object name is hard-coded.
const (
	releaseName = "ops"
	namespace   = "alerting"
	fullname    = "ops-relay"
	// kubeVersion is the cluster version helm renders for. A helm built by
	// go install lacks the version its release builds get from ldflags
	// and would assume 1.20, below the chart's kubeVersion.
	kubeVersion = "1.33.0"
)

// helm runs the helm binary of RELAY_TEST_HELM with its own empty
// configuration and cache, and returns its standard output; standard error
// is in the error.
func helm(t *testing.T, args ...string) (string, error) {
	t.Helper()
	bin := lookupEnv(t, helmEnv)
	home := t.TempDir()
	cmd := exec.Command(bin, args...)
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + home,
		"HELM_CACHE_HOME=" + filepath.Join(home, "cache"),
		"HELM_CONFIG_HOME=" + filepath.Join(home, "config"),
		"HELM_DATA_HOME=" + filepath.Join(home, "data"),
		"KUBECONFIG=" + filepath.Join(home, "no-kubeconfig"),
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), &helmError{err: err, stderr: stderr.String()}
	}
	return stdout.String(), nil
}

type helmError struct {
	err    error
	stderr string
}

func (e *helmError) Error() string { return e.err.Error() + ": " + strings.TrimSpace(e.stderr) }

// valuesArgs turns values files into helm's -f flags.
func valuesArgs(files []string) []string {
	var args []string
	for _, f := range files {
		args = append(args, "-f", f)
	}
	return args
}

// renderChart runs helm template with the values files, in order, and
// returns the output.
func renderChart(t *testing.T, values ...string) (string, error) {
	t.Helper()
	return renderChartAt(t, chartDir, values...)
}

// renderChartAt is renderChart for the chart in dir.
func renderChartAt(t *testing.T, dir string, values ...string) (string, error) {
	t.Helper()
	args := append([]string{"template", releaseName, dir, "--namespace", namespace, "--kube-version", kubeVersion}, valuesArgs(values)...)
	return helm(t, args...)
}

// render renders the chart and decodes every object strictly.
func render(t *testing.T, values ...string) []object {
	t.Helper()
	out, err := renderChart(t, values...)
	if err != nil {
		t.Fatalf("helm template %v: %v", values, err)
	}
	return decodeObjects(t, "helm template", []byte(out))
}

// ciValues returns the chart's ci/*-values.yaml files by shape name
// ("default" for ci/default-values.yaml).
func ciValues(t *testing.T) map[string]string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(chartDir, "ci", "*-values.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, f := range files {
		out[strings.TrimSuffix(filepath.Base(f), "-values.yaml")] = f
	}
	return out
}

// ciValuesFile returns the ci values file of a shape, failing if it is missing.
func ciValuesFile(t *testing.T, shape string) string {
	t.Helper()
	f, ok := ciValues(t)[shape]
	if !ok {
		t.Fatalf("no %s/ci/%s-values.yaml", chartDir, shape)
	}
	return f
}

// valuesFile writes a values file for one test and returns its path.
func valuesFile(t *testing.T, yamlText string) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "values.yaml")
	writeFile(t, f, yamlText)
	return f
}

// sortedKeys returns the keys of m in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
