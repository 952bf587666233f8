package sqlite

import (
	"fmt"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/relayhq/relay/internal/delivery"
	"github.com/relayhq/relay/internal/outbox"
)

// TestEachMessageKeepsItsDestination enqueues one batch whose messages go
// to alternating destinations: each is stored with its own lane and
// destination.
func TestEachMessageKeepsItsDestination(t *testing.T) {
	t.Parallel()
	s := open(t, filepath.Join(t.TempDir(), "outbox.db"), Options{})
	dests := []delivery.Destination{
		{Sender: "chatwork", Address: "room/1"},
		{Sender: "chatmessenger", Address: "panel/ops?users=a@example.com"},
		{Sender: "chatwork", Address: "room/1"},
		{Sender: "chatmessenger", Address: "panel/ops?users=a@example.com&sealed"},
	}
	b := outbox.Batch{NotificationID: "n-1"}
	for i, d := range dests {
		b.Messages = append(b.Messages, delivery.Message{Dest: d, Body: fmt.Sprint(i)})
	}
	if _, err := s.Enqueue(t.Context(), b); err != nil {
		t.Fatalf("Enqueue: %v", err)
	}
	rows, err := s.db.Query(`SELECT ` + messageColumns + `, lane FROM messages ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	i := 0
	for ; rows.Next(); i++ {
		var lane string
		m, err := scanMessage(rows, &lane)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(m.Dest, dests[i]) || lane != dests[i].Lane() {
			t.Errorf("message %d: destination %+v in lane %q, want %+v in %q", i, m.Dest, lane, dests[i], dests[i].Lane())
		}
	}
	if i != len(dests) {
		t.Errorf("%d messages stored, want %d", i, len(dests))
	}
}
