package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/relayhq/relay/internal/alert"
	"github.com/relayhq/relay/internal/outbox"
	"github.com/relayhq/relay/internal/secret"
	"github.com/relayhq/relay/internal/senders/console"
	"github.com/relayhq/relay/internal/templates"
)

// checkConfig validates the routes file and templates as serve would load
// them, printing a summary; secrets are checked for presence, never shown.
func checkConfig(args []string, getenv func(string) string, stdout io.Writer) error {
	fs := flag.NewFlagSet("check-config", flag.ContinueOnError)
	file := fs.String("config", "", "routes file (default $RELAY_CONFIG)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 1 {
		return fmt.Errorf("want at most one file, got %d", fs.NArg())
	}
	env, err := loadEnv()
	if err != nil {
		return err
	}
	if *file != "" {
		env.Config = *file
	}
	if fs.NArg() == 1 {
		env.Config = fs.Arg(0)
	}
	if env.Config == "" {
		return errors.New("no routes file: pass one or set RELAY_CONFIG")
	}
	set := newSenderSet(io.Discard, secret.NewScrubber(), nopLogger())
	snap, err := (&loader{env: env, getenv: getenv, kinds: relayKinds(set.printer)}).load()
	if err != nil {
		return err
	}
	if err := set.check(snap.Config); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: OK (%d routes, %d senders, %d custom templates)\n", env.Config,
		len(snap.Config.Routes), len(snap.Config.Senders), len(snap.Templates.Names()))
	if reason := snap.Config.DryRunReason(); reason != "" {
		fmt.Fprintf(stdout, "note: relay would run in dry-run: %s\n", reason)
	}
	return nil
}

// render renders a payload from stdin with the built-in or a custom template.
// --templates takes what RELAY_TEMPLATES takes.
func render(args []string, getenv func(string) string, stdin io.Reader, stdout io.Writer) error {
	fs := flag.NewFlagSet("render", flag.ContinueOnError)
	source := fs.String("source", "", "payload source: alertmanager, grafana or generic (required)")
	kinds := relayKinds(console.New(io.Discard, nil, nil))
	names := slices.Sorted(maps.Keys(kinds))
	kind := fs.String("sender", renderKind, "sender kind to render for: "+strings.Join(names, ", "))
	name := fs.String("template", "", "custom template name (default: the built-in one)")
	paths := fs.String("templates", getenv("RELAY_TEMPLATES"), "custom template directories, files or globs, separated by commas")
	raw := fs.Bool("raw", false, "print exactly what the template wrote: no trimming, no newline added")
	line := fs.Bool("line", false, "print the one-line form a storm post carries (the template's .line, or the built-in line)")
	ctype := fs.String("content-type", "", "payload content type (default application/json; text/plain for non-JSON generic input)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *source == "" {
		return errors.New("--source is required (alertmanager, grafana or generic)")
	}
	k, ok := kinds[*kind]
	if !ok {
		return fmt.Errorf("--sender: want one of %s, got %q", strings.Join(names, ", "), *kind)
	}
	body, err := io.ReadAll(io.LimitReader(stdin, 64<<20))
	if err != nil {
		return fmt.Errorf("read stdin: %w", err)
	}
	ct := *ctype
	if ct == "" {
		ct = "application/json"
		if *source == alert.SourceGeneric && !json.Valid(body) {
			ct = "text/plain"
		}
	}
	d, err := alert.Decode(*source, ct, nil, body)
	if err != nil {
		return err
	}
	var list []string
	if *paths != "" {
		list = strings.Split(*paths, ",")
	}
	tmpl, err := templates.New(builtinTemplates(kinds), list...)
	if err != nil {
		return err
	}
	if *line {
		msg, err := tmpl.RenderLine(k.Notation(), *name, d)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintln(stdout, msg)
		return err
	}
	if *raw {
		msg, err := tmpl.RenderRaw(k.Notation(), *name, d)
		if err != nil {
			return err
		}
		_, err = io.WriteString(stdout, msg)
		return err
	}
	msg, err := tmpl.Render(k.Notation(), *name, d)
	if err != nil {
		return err
	}
	// What would be posted: the kind's output boundary applied.
	msg = k.Notation().Final(msg, *name == "")
	_, err = fmt.Fprintln(stdout, msg)
	return err
}

// deadLetters lists or re-queues the dead letters of a running relay
// through its admin API.
func deadLetters(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	if len(args) == 0 {
		return errors.New("want a subcommand: list or requeue")
	}
	sub, args := args[0], args[1:]
	fs := flag.NewFlagSet("deadletters "+sub, flag.ContinueOnError)
	base := fs.String("url", defaultAdminURL(getenv("RELAY_LISTEN")), "base URL of the running relay")
	limit := fs.Int("limit", 100, "list at most this many")
	if err := fs.Parse(args); err != nil {
		return err
	}
	token := getenv("RELAY_ADMIN_TOKEN")
	if f := getenv("RELAY_ADMIN_TOKEN_FILE"); f != "" {
		b, err := os.ReadFile(f)
		if err != nil {
			return fmt.Errorf("read RELAY_ADMIN_TOKEN_FILE: %w", err)
		}
		token = strings.TrimSpace(string(b))
	}
	if token == "" {
		return errors.New("set RELAY_ADMIN_TOKEN (or RELAY_ADMIN_TOKEN_FILE) to the relay's admin token")
	}
	var req *http.Request
	var err error
	switch sub {
	case "list":
		req, err = http.NewRequestWithContext(ctx, http.MethodGet, *base+"/api/v1/deadletters?limit="+strconv.Itoa(*limit), nil)
	case "requeue":
		ids := []int64{}
		for _, a := range fs.Args() {
			id, perr := strconv.ParseInt(a, 10, 64)
			if perr != nil {
				return fmt.Errorf("requeue: %q is not a dead-letter id", a)
			}
			ids = append(ids, id)
		}
		b, _ := json.Marshal(map[string][]int64{"ids": ids})
		req, err = http.NewRequestWithContext(ctx, http.MethodPost, *base+"/api/v1/deadletters/requeue", bytes.NewReader(b))
		if req != nil {
			req.Header.Set("Content-Type", "application/json")
		}
	default:
		return fmt.Errorf("unknown subcommand %q: want list or requeue", sub)
	}
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		return fmt.Errorf("call the relay admin API: %w", err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("relay answered %s: %s", resp.Status, bytes.TrimSpace(out))
	}
	if sub == "requeue" {
		return printRequeue(stdout, out)
	}
	var pretty bytes.Buffer
	if json.Indent(&pretty, out, "", "  ") == nil {
		out = pretty.Bytes()
	}
	_, err = fmt.Fprintln(stdout, string(out))
	return err
}

// printRequeue prints the admin API's answer to a requeue: how many were
// requeued, then one line per dead letter skipped, with the reason.
func printRequeue(stdout io.Writer, answer []byte) error {
	var res outbox.RequeueResult
	if err := json.Unmarshal(answer, &res); err != nil {
		return fmt.Errorf("decode the relay's answer %q: %w", bytes.TrimSpace(answer), err)
	}
	if _, err := fmt.Fprintf(stdout, "requeued %d dead letters\n", res.Requeued); err != nil {
		return err
	}
	for _, s := range res.Skipped {
		if _, err := fmt.Fprintf(stdout, "skipped %d: %s\n", s.ID, s.Reason); err != nil {
			return err
		}
	}
	return nil
}

func defaultAdminURL(listen string) string {
	if listen == "" {
		listen = ":8080"
	}
	if strings.HasPrefix(listen, ":") {
		listen = "127.0.0.1" + listen
	}
	return "http://" + listen
}
