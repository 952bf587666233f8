package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// process is a server started by the harness: the relay or the baseline.
type process struct {
	name string
	URL  string
	cmd  *exec.Cmd
	done chan struct{}
	tail *tailBuffer
}

// startRelay starts the relay binary with env (RELAY_* variables; nothing
// else is inherited but PATH and HOME) and waits for its "listening" log
// line.
func startRelay(bin string, env map[string]string) (*process, error) {
	cmd := exec.Command(bin)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "RELAY_LISTEN=127.0.0.1:0"}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Stdout = io.Discard
	return start("relay", cmd, func(line string) string {
		if !strings.Contains(line, `"listening"`) {
			return ""
		}
		var e struct {
			Addr string `json:"addr"`
		}
		_ = json.Unmarshal([]byte(line), &e)
		return e.Addr
	}, true)
}

// startBaseline starts the baseline server and waits for its address.
func startBaseline(bin string) (*process, error) {
	cmd := exec.Command(bin, "-listen", "127.0.0.1:0")
	cmd.Stderr = io.Discard
	return start("baseline", cmd, func(line string) string {
		addr, _ := strings.CutPrefix(line, "listening ")
		if addr == line {
			return ""
		}
		return addr
	}, false)
}

// start runs cmd, scanning its stderr (or stdout) with addrOf until a line
// gives the listen address. Every line is kept in a short tail for error
// reports.
func start(name string, cmd *exec.Cmd, addrOf func(string) string, stderr bool) (*process, error) {
	p := &process{name: name, cmd: cmd, done: make(chan struct{}), tail: &tailBuffer{lines: make(chan string, tailLines)}}
	var out io.ReadCloser
	var err error
	if stderr {
		out, err = cmd.StderrPipe()
	} else {
		out, err = cmd.StdoutPipe()
	}
	if err != nil {
		return nil, fmt.Errorf("pipe %s output: %w", name, err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			p.tail.add(line)
			if a := addrOf(line); a != "" {
				select {
				case addr <- a:
				default:
				}
			}
		}
		_ = cmd.Wait()
		close(p.done)
	}()
	select {
	case a := <-addr:
		p.URL = "http://" + a
		return p, nil
	case <-p.done:
		return nil, fmt.Errorf("%s exited before listening:\n%s", name, p.tail)
	case <-time.After(30 * time.Second):
		p.stop()
		return nil, fmt.Errorf("%s did not listen within 30s:\n%s", name, p.tail)
	}
}

// stop sends SIGTERM and waits for the exit, killing the process after 30 s.
func (p *process) stop() {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// kill ends the process at once (SIGKILL), as a crash would, and waits
// for it; a process that has exited already is left alone.
func (p *process) kill() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Kill()
	<-p.done
}

// memory is what /proc/<pid>/status says about a process's memory.
type memory struct {
	RSS, HWM int64 // bytes: VmRSS (now) and VmHWM (peak)
}

// readMemory reads VmRSS and VmHWM of the process.
func (p *process) readMemory() (memory, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return memory{}, fmt.Errorf("read memory of %s: %w", p.name, err)
	}
	var m memory
	for _, line := range strings.Split(string(b), "\n") {
		key, val, ok := strings.Cut(line, ":")
		if !ok || (key != "VmRSS" && key != "VmHWM") {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(val), " kB"), 10, 64)
		if err != nil {
			return memory{}, fmt.Errorf("parse %s of %s: %w", key, p.name, err)
		}
		if key == "VmRSS" {
			m.RSS = kb << 10
		} else {
			m.HWM = kb << 10
		}
	}
	if m.RSS == 0 {
		return memory{}, errors.New("no VmRSS in /proc status (not Linux?)")
	}
	return m, nil
}

// cpuTime returns the user plus system CPU time the process has used, from
// /proc/<pid>/stat (0 if it cannot be read).
func (p *process) cpuTime() time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	// Fields after the command name, which is in parentheses and may
	// hold spaces: utime and stime are fields 14 and 15 of the line.
	_, rest, ok := strings.Cut(string(b), ") ")
	f := strings.Fields(rest)
	if !ok || len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * time.Second / clockTicks
}

// clockTicks is USER_HZ, the unit of /proc/<pid>/stat times: 100 on every
// Linux architecture Go supports.
const clockTicks = 100

// tailBuffer keeps the last lines a process wrote; it is safe for one
// writer and one reader.
type tailBuffer struct {
	lines chan string
}

const tailLines = 20

func (t *tailBuffer) add(line string) {
	for {
		select {
		case t.lines <- line:
			return
		default:
			select {
			case <-t.lines:
			default:
			}
		}
	}
}

func (t *tailBuffer) String() string {
	var b strings.Builder
	for {
		select {
		case l := <-t.lines:
			b.WriteString(l)
			b.WriteByte('\n')
		default:
			return b.String()
		}
	}
}
