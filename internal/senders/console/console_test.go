package console

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/relayhq/relay/internal/delivery"
)

// describe says where the test's addresses are, as a kind's Describe
// would.
func describe(d delivery.Destination) string {
	return map[string]string{"room/42": "room 42", "room/1": "room 1", "panel/messenger?users=a@x,b@x&sealed": "panel messenger users a@x,b@x (sealed)"}[d.Address]
}

func TestSendPrintsDestinationThenBody(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		describe func(delivery.Destination) string
		dest     delivery.Destination
		body     string
		want     string
	}{
		{"chatwork room", describe, delivery.Destination{Sender: "chatwork", Address: "room/42"}, "[info]disk full[/info]",
			"--- dry run: chatwork room 42 ---\n[info]disk full[/info]\n\n"},
		{"direct message", describe, delivery.Destination{Sender: "cam", Address: "panel/messenger?users=a@x,b@x&sealed"}, "hi\n",
			"--- dry run: cam panel messenger users a@x,b@x (sealed) ---\nhi\n\n"},
		{"no sender name", describe, delivery.Destination{Address: "room/1"}, "x", "--- dry run: - room 1 ---\nx\n\n"},
		{"no description", describe, delivery.Destination{Sender: "console"}, "x", "--- dry run: console ---\nx\n\n"},
		{"without describe, the address", nil, delivery.Destination{Sender: "hook", Address: "path/a"}, "x", "--- dry run: hook path/a ---\nx\n\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			var out strings.Builder
			rc, err := New(&out, nil, c.describe).Send(context.Background(), c.dest, c.body)
			if err != nil {
				t.Fatal(err)
			}
			if out.String() != c.want {
				t.Errorf("got %q, want %q", out.String(), c.want)
			}
			if rc.MessageID != "console-1" {
				t.Errorf("got id %q, want console-1", rc.MessageID)
			}
		})
	}
}

func TestConcurrentSendsDoNotInterleave(t *testing.T) {
	t.Parallel()
	var out strings.Builder
	s := New(&out, nil, describe)
	body := strings.Repeat("line\n", 50)
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			if _, err := s.Send(context.Background(), delivery.Destination{Sender: "c", Address: "room/1"}, body); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	block := "--- dry run: c room 1 ---\n" + body + "\n"
	if got, want := out.String(), strings.Repeat(block, 20); got != want {
		t.Errorf("output is not 20 whole blocks (%d bytes, want %d)", len(got), len(want))
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestSendFailures(t *testing.T) {
	t.Parallel()
	_, err := New(failWriter{}, nil, nil).Send(context.Background(), delivery.Destination{Address: "room/1"}, "x")
	if e := delivery.Classify(err); e.Class != delivery.Retryable || e.Reason != "write" {
		t.Errorf("write failure: got %v %q, want retryable write", e.Class, e.Reason)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var out strings.Builder
	_, err = New(&out, nil, nil).Send(ctx, delivery.Destination{Address: "room/1"}, "x")
	if !errors.Is(err, context.Canceled) || out.Len() != 0 {
		t.Errorf("canceled: got %v and %q printed, want context.Canceled and nothing", err, out.String())
	}
}
