// Command relay is an alert-relay webhook server: it takes Alertmanager,
// Grafana and generic webhooks, renders them with templates, stores them in a
// durable outbox and posts them with the sender kinds of kinds.go, paced so
// that no room's limit is ever exceeded.
//
//	relay                  serve (the default)
//	relay check-config     validate RELAY_CONFIG and the templates
//	relay render           render a payload from stdin
//	relay deadletters      list or re-queue dead letters of a running relay
//	relay version          print the version
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run is the whole program; tests drive it without a process or signals.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) int {
	cmd := "serve"
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}
	var err error
	switch cmd {
	case "serve":
		err = serve(ctx, args, getenv, stdout, stderr)
	case "check-config":
		err = checkConfig(args, getenv, stdout)
	case "render":
		err = render(args, getenv, stdin, stdout)
	case "deadletters":
		err = deadLetters(ctx, args, getenv, stdout)
	case "version":
		fmt.Fprintln(stdout, versionString())
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
	default:
		fmt.Fprintf(stderr, "relay: unknown command %q\n\n%s", cmd, usage)
		return 2
	}
	if err != nil {
		fmt.Fprintf(stderr, "relay %s: %v\n", cmd, err)
		return 1
	}
	return 0
}

const usage = `Usage: relay [command] [flags]

Commands:
  serve          run the relay (default); configured by RELAY_* environment variables
  check-config   validate the routes file (RELAY_CONFIG or --config) and templates
  render         render a payload read from stdin: --source alertmanager|grafana|generic
                 [--sender KIND] [--template NAME]
                 [--templates DIR,FILE,GLOB...] [--raw]
  deadletters    list or re-queue dead letters of a running relay:
                 deadletters list | deadletters requeue [ID ...] (--url, RELAY_ADMIN_TOKEN)
  version        print version information
`
