package console_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/relayhq/relay/internal/alert"
	"github.com/relayhq/relay/internal/confyaml"
	"github.com/relayhq/relay/internal/delivery"
	"github.com/relayhq/relay/internal/senders"
	"github.com/relayhq/relay/internal/senders/console"
	"github.com/relayhq/relay/internal/templates"
)

// node returns the node at the keys path of src.
func node(t *testing.T, src string, path ...string) confyaml.Node {
	t.Helper()
	n, err := confyaml.Load("relay.yml", []byte(src))
	if err != nil {
		t.Fatalf("parse YAML: %v", err)
	}
	for _, p := range path {
		n = n.Key(p)
	}
	return n
}

func TestKindDescribesItself(t *testing.T) {
	t.Parallel()
	k := console.Kind{}
	if k.Name() != "console" {
		t.Errorf("Name() = %q, want console", k.Name())
	}
	if d := k.Defaults(); d.Destination.Enabled() || d.Token.Enabled() || d.MaxChars != 30000 || !d.Fold || d.Separator == "" {
		t.Errorf("Defaults() = %+v, want no limits and chat-sized messages", d)
	}
	if n := k.Notation(); !reflect.DeepEqual(n, templates.Notation{}) {
		t.Errorf("Notation() = %+v, want plain text", n)
	}
	if k.Templates() != nil {
		t.Error("Templates() is not nil, want the shared text templates")
	}
	if _, err := k.Direct("anything", nil); !errors.Is(err, senders.ErrNoDirect) {
		t.Errorf("Direct = %v, want ErrNoDirect", err)
	}
}

func TestBuiltinAlwaysExists(t *testing.T) {
	t.Parallel()
	k := console.Kind{}
	for _, dryRun := range []bool{false, true} {
		c, missing, err := k.Builtin(senders.Env{Getenv: func(string) string { return "" }}, dryRun)
		if err != nil || missing != "" || c == nil {
			t.Fatalf("Builtin(dry run %v) = %+v, %q, %v; want the sender", dryRun, c, missing, err)
		}
		if c.Name != "console" || c.Kind != k || c.Scope != "console" || c.Settings != k.Defaults() || c.HasCredentials() {
			t.Errorf("Builtin = %+v, want the console sender without credentials", c)
		}
	}
}

func TestSender(t *testing.T) {
	t.Parallel()
	k := console.Kind{}
	c, err := k.Sender("print", k.Defaults(), senderNode(t, "senders:\n  print:\n    type: console\n    max_chars: 100\n"), confyaml.Source{})
	if err != nil {
		t.Fatalf("Sender: %v", err)
	}
	if c.Name != "print" || c.Kind != k || c.Scope != "console" {
		t.Errorf("Sender = %+v, want print of kind console", c)
	}
	_, err = k.Sender("print", k.Defaults(), senderNode(t, "senders:\n  print:\n    type: console\n    url: x\n"), confyaml.Source{})
	var e *confyaml.Error
	if !errors.As(err, &e) || e.Line != 4 || e.Path != "senders.print.url" || !strings.Contains(e.Reason, "unknown key") {
		t.Errorf("Sender with an option: got %v, want an unknown key at relay.yml:4 senders.print.url", err)
	}
}

func TestTarget(t *testing.T) {
	t.Parallel()
	k := console.Kind{}
	tg, err := k.Target(parseTarget(t, "targets:\n  - sender: console\n    template: t\n    matchers: [a=b]\n"))
	if err != nil {
		t.Fatalf("Target: %v", err)
	}
	if addr, prefix := tg.Resolve(&alert.Data{Status: alert.StatusFiring}); addr != "" || prefix != "" {
		t.Errorf("Resolve = %q, %q; want no address and no prefix", addr, prefix)
	}
	_, err = k.Target(parseTarget(t, "targets:\n  - sender: console\n    room: 42\n"))
	var e *confyaml.Error
	if !errors.As(err, &e) || e.Line != 3 || e.Path != "targets[0].room" || !strings.Contains(e.Reason, "room") {
		t.Errorf("Target with an option: got %v, want an error at relay.yml:3 targets[0].room", err)
	}
}

// parseTarget returns the first target of src as Kind.Target gets it.
func parseTarget(t *testing.T, src string) confyaml.Node {
	t.Helper()
	return node(t, src, "targets").Index(0).Without("sender", "template", "matchers")
}

// senderNode returns the sender print of src as Kind.Sender gets it.
func senderNode(t *testing.T, src string) confyaml.Node {
	t.Helper()
	return node(t, src, "senders", "print").Without("type", "limits", "max_chars", "separator")
}

func TestNewPrints(t *testing.T) {
	t.Parallel()
	var out strings.Builder
	k := console.NewKind(&out)
	c, _, _ := k.Builtin(senders.Env{}, false)
	p, err := k.New(c, senders.Runtime{})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if p != k.Out {
		t.Errorf("New = %v, want the kind's printer", p)
	}
	if _, err := p.Send(context.Background(), delivery.Destination{Sender: "console"}, "hello"); err != nil {
		t.Fatal(err)
	}
	if got, want := out.String(), "--- dry run: console ---\nhello\n\n"; got != want {
		t.Errorf("printed %q, want %q", got, want)
	}
}
