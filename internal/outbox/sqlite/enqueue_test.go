package sqlite

import (
	"fmt"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/relayhq/relay/internal/delivery"
	"github.com/relayhq/relay/internal/outbox"
)

// TestSameDestinationComparesEveryField changes each field of a
// destination in turn: the writer must not reuse the previous message's
// encoding for a destination that differs in any of them.
func TestSameDestinationComparesEveryField(t *testing.T) {
	t.Parallel()
	base := delivery.Destination{Sender: "chatmessenger", Address: "panel/ops?users=a@example.com"}
	if !sameDestination(base, base) {
		t.Fatal("a destination differs from itself")
	}
	typ := reflect.TypeFor[delivery.Destination]()
	for i := range typ.NumField() {
		f := typ.Field(i)
		changed := base
		v := reflect.ValueOf(&changed).Elem().Field(i)
		switch v.Kind() {
		case reflect.String:
			v.SetString(v.String() + "-other")
		case reflect.Bool:
			v.SetBool(!v.Bool())
		case reflect.Slice:
			v.Set(reflect.Append(v, reflect.ValueOf("other@example.com")))
		default:
			t.Fatalf("field %s of kind %s: teach this test to change it", f.Name, v.Kind())
		}
		if sameDestination(base, changed) {
			t.Errorf("destinations that differ in %s compare the same", f.Name)
		}
	}
}

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
