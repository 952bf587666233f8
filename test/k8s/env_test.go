package k8s

import (
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// Environment variables the tests read, following internal/testenv of the
// main module (which this module cannot import).
const (
	// helmEnv is the path of a helm v3 binary.
	helmEnv = "RELAY_TEST_HELM"
	// relayEnv is the path of a relay binary; unset, the tests build one.
	relayEnv = "RELAY_TEST_RELAY"
	// requireAllEnv turns every skip for a missing dependency into a failure.
	requireAllEnv = "RELAY_TEST_REQUIRE_ALL"
)

// repoRoot is the root of the relay repository, from this module's folder.
const repoRoot = "../.."

// lookupEnv returns the value of the environment variable name, or skips the
// test when it is unset (fails it when RELAY_TEST_REQUIRE_ALL is set).
func lookupEnv(t testing.TB, name string) string {
	t.Helper()
	if v := os.Getenv(name); v != "" {
		return v
	}
	if os.Getenv(requireAllEnv) != "" {
		t.Fatalf("%s is not set, and %s forbids skipping this test", name, requireAllEnv)
	}
	t.Skipf("%s is not set; skipping", name)
	return ""
}

var relayBuild struct {
	once sync.Once
	path string
	err  error
	out  []byte
}

// relayBinary returns the relay binary of RELAY_TEST_RELAY, or one built
// once from the repository's cmd/relay.
func relayBinary(t testing.TB) string {
	t.Helper()
	if p := os.Getenv(relayEnv); p != "" {
		return p
	}
	relayBuild.once.Do(func() {
		dir, err := os.MkdirTemp("", "relay-k8s-test-")
		if err != nil {
			relayBuild.err = err
			return
		}
		relayBuild.path = filepath.Join(dir, "relay")
		cmd := exec.Command("go", "build", "-o", relayBuild.path, "./cmd/relay")
		cmd.Dir = repoRoot
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		relayBuild.out, relayBuild.err = cmd.CombinedOutput()
	})
	if relayBuild.err != nil {
		t.Fatalf("build relay: %v\n%s", relayBuild.err, relayBuild.out)
	}
	return relayBuild.path
}

func TestMain(m *testing.M) {
	code := m.Run()
	if relayBuild.path != "" {
		_ = os.RemoveAll(filepath.Dir(relayBuild.path))
	}
	os.Exit(code)
}
