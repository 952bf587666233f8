// Package e2e runs the relay binary as users do: built from ./cmd/relay,
// started as a process with RELAY_* variables, fed webhooks over HTTP, and
// pointed at strict fake upstreams. Crash tests kill it with SIGKILL.
package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// relayBin is the binary built once by TestMain.
var relayBin string

// parallel is how many tests run at once unless -parallel says otherwise.
// Each has its own processes, fake upstreams, ports, directories and
// schemas, and spends its time waiting on them and on the upstreams'
// windows rather than computing, so more than GOMAXPROCS run at once.
const parallel = "8"

func TestMain(m *testing.M) {
	flag.Parse()
	explicit := false
	flag.Visit(func(f *flag.Flag) { explicit = explicit || f.Name == "test.parallel" })
	if !explicit {
		_ = flag.Set("test.parallel", parallel)
	}
	dir, err := os.MkdirTemp("", "relay-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	relayBin = filepath.Join(dir, "relay")
	build := exec.Command("go", "build", "-o", relayBin, "../cmd/relay")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build relay: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// syncBuffer is a bytes.Buffer safe for one writer and many readers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Relay is a running relay process.
type Relay struct {
	URL    string
	Stdout *syncBuffer
	Stderr *syncBuffer
	cmd    *exec.Cmd
	done   chan struct{}
	err    error
}

// StartRelay starts the relay binary with env (RELAY_* variables; nothing is
// inherited but PATH and HOME) and waits until it listens. It is stopped at
// the end of the test if still running.
func StartRelay(t testing.TB, env map[string]string) *Relay {
	t.Helper()
	r := &Relay{Stdout: &syncBuffer{}, Stderr: &syncBuffer{}, done: make(chan struct{})}
	r.cmd = exec.Command(relayBin)
	r.cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "RELAY_LISTEN=127.0.0.1:0"}
	for k, v := range env {
		r.cmd.Env = append(r.cmd.Env, k+"="+v)
	}
	r.cmd.Stdout = r.Stdout
	pr, pw := io.Pipe()
	r.cmd.Stderr = pw
	if err := r.cmd.Start(); err != nil {
		t.Fatalf("start relay: %v", err)
	}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			_, _ = r.Stderr.Write([]byte(line + "\n"))
			if strings.Contains(line, `"listening"`) {
				var e struct {
					Addr string `json:"addr"`
				}
				if json.Unmarshal([]byte(line), &e) == nil && e.Addr != "" {
					select {
					case addr <- e.Addr:
					default:
					}
				}
			}
		}
	}()
	go func() {
		r.err = r.cmd.Wait()
		_ = pw.Close()
		close(r.done)
	}()
	t.Cleanup(func() {
		select {
		case <-r.done:
		default:
			_ = r.cmd.Process.Kill()
			<-r.done
		}
		if t.Failed() {
			t.Logf("relay stderr:\n%s", r.Stderr.String())
		}
	})
	select {
	case a := <-addr:
		r.URL = "http://" + a
	case <-r.done:
		t.Fatalf("relay exited before listening: %v\nstderr:\n%s", r.err, r.Stderr.String())
	case <-time.After(30 * time.Second):
		t.Fatalf("relay did not listen within 30s\nstderr:\n%s", r.Stderr.String())
	}
	return r
}

// Metric returns the sum of the samples of the metric name on the relay's
// /metrics.
func (r *Relay) Metric(t testing.TB, name string) float64 {
	t.Helper()
	resp, err := http.Get(r.URL + "/metrics")
	if err != nil {
		t.Fatalf("GET /metrics: %v", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %d %v", resp.StatusCode, err)
	}
	return metricSum(string(b), name)
}

// Post sends body to the relay and returns the status and answer.
func (r *Relay) Post(t testing.TB, path, contentType string, body []byte, header ...string) (int, []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.URL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// Kill ends the relay with SIGKILL, as a crash would.
func (r *Relay) Kill(t testing.TB) {
	t.Helper()
	_ = r.cmd.Process.Signal(syscall.SIGKILL)
	<-r.done
}

// Stop sends SIGTERM and returns the exit code, failing the test if the
// relay does not exit within timeout.
func (r *Relay) Stop(t testing.TB, timeout time.Duration) int {
	t.Helper()
	_ = r.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-r.done:
	case <-time.After(timeout):
		t.Fatalf("relay did not exit within %v of SIGTERM", timeout)
	}
	return r.cmd.ProcessState.ExitCode()
}

// payload reads a fixture of testdata/payloads.
func payload(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", "payloads", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}
