package console

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/relayhq/relay/internal/delivery"
)

func TestSendPrintsDestinationThenBody(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		dest delivery.Destination
		body string
		want string
	}{
		{"chatwork room", delivery.Destination{Sender: "chatwork", Room: "42"}, "[info]disk full[/info]",
			"--- dry run: chatwork room 42 ---\n[info]disk full[/info]\n\n"},
		{"direct message", delivery.Destination{Sender: "cam", Panel: "messenger", Users: []string{"a@x", "b@x"}, Sealed: true}, "hi\n",
			"--- dry run: cam panel messenger users a@x,b@x (sealed) ---\nhi\n\n"},
		{"no sender name", delivery.Destination{Room: "1"}, "x", "--- dry run: - room 1 ---\nx\n\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			var out strings.Builder
			rc, err := New(&out, nil).Send(context.Background(), c.dest, c.body)
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
	s := New(&out, nil)
	body := strings.Repeat("line\n", 50)
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			if _, err := s.Send(context.Background(), delivery.Destination{Sender: "c", Room: "1"}, body); err != nil {
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
	_, err := New(failWriter{}, nil).Send(context.Background(), delivery.Destination{Room: "1"}, "x")
	if e := delivery.Classify(err); e.Class != delivery.Retryable || e.Reason != "write" {
		t.Errorf("write failure: got %v %q, want retryable write", e.Class, e.Reason)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var out strings.Builder
	_, err = New(&out, nil).Send(ctx, delivery.Destination{Room: "1"}, "x")
	if !errors.Is(err, context.Canceled) || out.Len() != 0 {
		t.Errorf("canceled: got %v and %q printed, want context.Canceled and nothing", err, out.String())
	}
}
