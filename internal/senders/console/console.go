// Package console is the console sender kind and the dry-run sender: it
// prints each message with the destination it would have gone to, instead
// of posting it.
package console

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"

	"go.uber.org/zap"

	"github.com/relayhq/relay/internal/delivery"
)

// Sender writes messages to a writer. It is safe for concurrent use: each
// message is written whole, never interleaved with another.
type Sender struct {
	logger   *zap.Logger
	describe func(delivery.Destination) string

	mu   sync.Mutex
	w    io.Writer
	sent int
}

// New returns a Sender that writes to w. describe says where a destination
// is in words ("room 42"); nil prints its address.
func New(w io.Writer, logger *zap.Logger, describe func(delivery.Destination) string) *Sender {
	if logger == nil {
		logger = zap.NewNop()
	}
	if describe == nil {
		describe = func(d delivery.Destination) string { return d.Address }
	}
	return &Sender{w: w, logger: logger, describe: describe}
}

// Send writes a header line naming the destination, then the body. A
// failed write is Retryable with reason "write".
func (s *Sender) Send(ctx context.Context, dest delivery.Destination, body string) (delivery.Receipt, error) {
	if err := ctx.Err(); err != nil {
		return delivery.Receipt{}, &delivery.Error{Class: delivery.Retryable, Reason: "canceled", Err: err}
	}
	var b strings.Builder
	b.WriteString("--- ")
	b.WriteString(s.Header(dest))
	b.WriteString(" ---\n")
	b.WriteString(body)
	if !strings.HasSuffix(body, "\n") {
		b.WriteByte('\n')
	}
	b.WriteByte('\n')

	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := io.WriteString(s.w, b.String()); err != nil {
		return delivery.Receipt{}, &delivery.Error{Class: delivery.Retryable, Reason: "write",
			Err: fmt.Errorf("write message: %w", err)}
	}
	s.sent++
	s.logger.Debug("printed message (dry run)", zap.String("lane", dest.Lane()))
	return delivery.Receipt{MessageID: "console-" + strconv.Itoa(s.sent)}, nil
}

// Header describes a destination in one line, for example
// "dry run: ops-room room 42".
func (s *Sender) Header(dest delivery.Destination) string {
	parts := []string{"dry run:", orDash(dest.Sender)}
	if where := s.describe(dest); where != "" {
		parts = append(parts, where)
	}
	return strings.Join(parts, " ")
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
