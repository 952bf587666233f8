package main

import (
	"bytes"
	"context"
	"os"
	"runtime/debug"
	"strings"
	"testing"

	"go.uber.org/zap"

	"github.com/relayhq/relay/internal/config"
	"github.com/relayhq/relay/internal/secret"
)

func TestRunCommands(t *testing.T) {
	cases := []struct {
		name     string
		args     []string
		code     int
		out, err string
	}{
		{"version", []string{"version"}, 0, "relay dev", ""},
		{"help", []string{"help"}, 0, "check-config", ""},
		{"unknown command", []string{"frobnicate"}, 2, "", `unknown command "frobnicate"`},
		{"serve takes no arguments", []string{"serve", "x"}, 1, "", "serve takes no arguments"},
		{"render needs a source", []string{"render"}, 1, "", "--source is required"},
		{"render rejects a sender", []string{"render", "--source", "alertmanager", "--sender", "slack"}, 1, "", "--sender"},
		{"deadletters needs a subcommand", []string{"deadletters"}, 1, "", "list or requeue"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), c.args, func(string) string { return "" }, strings.NewReader(""), &stdout, &stderr)
			if code != c.code {
				t.Errorf("exit code: got %d, want %d (stderr %q)", code, c.code, stderr.String())
			}
			if !strings.Contains(stdout.String(), c.out) {
				t.Errorf("stdout %q lacks %q", stdout.String(), c.out)
			}
			if !strings.Contains(stderr.String(), c.err) {
				t.Errorf("stderr %q lacks %q", stderr.String(), c.err)
			}
		})
	}
}

func TestOpenStoreRejectsBadURLs(t *testing.T) {
	for _, c := range []struct{ store, want string }{
		{"./relay.db", "without a scheme"},
		{"mysql://db/relay", `unknown scheme "mysql"`},
		{"sqlite://", "needs a file path"},
	} {
		env := config.Env{Store: secret.New(c.store)}
		_, err := openStore(context.Background(), env, zap.NewNop())
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want an error containing %q", c.store, err, c.want)
		}
	}
}

func TestOpenStoreErrorHidesPassword(t *testing.T) {
	env := config.Env{Store: secret.New("postgres://relay:hunter2@127.0.0.1:1/relay?connect_timeout=1")}
	_, err := openStore(context.Background(), env, zap.NewNop())
	if err == nil {
		t.Fatal("want an error for a closed port")
	}
	if strings.Contains(err.Error(), "hunter2") {
		t.Errorf("error shows the password: %v", err)
	}
}

func TestDefaultAdminURL(t *testing.T) {
	for in, want := range map[string]string{"": "http://127.0.0.1:8080", ":9000": "http://127.0.0.1:9000", "10.0.0.1:80": "http://10.0.0.1:80"} {
		if got := defaultAdminURL(in); got != want {
			t.Errorf("defaultAdminURL(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSetGCPercent(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	if got := setGCPercent(func(string) string { return "" }); got != defaultGCPercent {
		t.Errorf("without GOGC: %d, want %d", got, defaultGCPercent)
	}
	if got := debug.SetGCPercent(100); got != defaultGCPercent {
		t.Errorf("the runtime runs at %d, want %d", got, defaultGCPercent)
	}
	// With GOGC set the runtime's own value (here 100, as set above)
	// is left alone.
	if got := setGCPercent(func(k string) string { return map[string]string{"GOGC": "100"}[k] }); got != 100 {
		t.Errorf("with GOGC=100: %d, want 100 left alone", got)
	}
}

func TestRenderLine(t *testing.T) {
	payload, err := os.ReadFile("../../testdata/payloads/alertmanager/firing.json")
	if err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"render", "--source", "alertmanager", "--line"}, func(string) string { return "" },
		bytes.NewReader(payload), &stdout, &stderr)
	want := "[FIRING:1] HighErrorRate (critical) service=checkout: High 5xx error rate on checkout-api\n"
	if code != 0 || stdout.String() != want {
		t.Errorf("render --line: exit %d, stdout %q (stderr %q); want 0, %q", code, stdout.String(), stderr.String(), want)
	}
}
