package secret

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

func TestSecretNeverPrints(t *testing.T) {
	t.Parallel()
	s := New("hunter2-token")
	type wrap struct {
		Token Secret
		P     *Secret
	}
	w := wrap{Token: s, P: &s}
	outs := []string{
		fmt.Sprint(s), fmt.Sprintf("%v %+v %#v %s %q %x", s, s, s, s, s, s),
		fmt.Sprintf("%v %+v %#v", w, w, w),
	}
	b, err := json.Marshal(w)
	if err != nil {
		t.Fatal(err)
	}
	outs = append(outs, string(b))
	core, logs := observer.New(zap.DebugLevel)
	zap.New(core).Info("x", zap.Any("w", w), zap.Stringer("s", s), zap.Any("s2", s))
	for _, e := range logs.All() {
		b, _ := json.Marshal(e.ContextMap())
		outs = append(outs, string(b))
	}
	for _, o := range outs {
		if strings.Contains(o, "hunter2") {
			t.Errorf("secret leaked: %s", o)
		}
	}
	if s.Reveal() != "hunter2-token" {
		t.Errorf("Reveal = %q", s.Reveal())
	}
}

func TestUnmarshalText(t *testing.T) {
	t.Parallel()
	var s Secret
	if err := s.UnmarshalText([]byte("abc")); err != nil || s.Reveal() != "abc" || !s.IsSet() {
		t.Fatalf("got %q, %v", s.Reveal(), err)
	}
	if (Secret{}).String() != "" {
		t.Error("unset secret should print empty")
	}
}

func TestScrubberRemovesEverySecret(t *testing.T) {
	s := NewScrubber(New("tok-abcdef123"), New("p@ss word/1"), New("short"), New(""))
	in := `{"echo":"tok-abcdef123","q":"p%40ss+word%2F1","path":"p@ss%20word%2F1","raw":"p@ss word/1","short":"short"}`
	want := `{"echo":"<secret>","q":"<secret>","path":"<secret>","raw":"<secret>","short":"short"}`
	if got := s.Scrub(in); got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	s.Set(New("another-token"))
	if got := s.Scrub("tok-abcdef123 another-token"); got != "tok-abcdef123 <secret>" {
		t.Errorf("after Set: got %q", got)
	}
	var b strings.Builder
	w := s.Writer(&b)
	if n, err := w.Write([]byte("x another-token y")); err != nil || n != 17 {
		t.Fatalf("Write = %d, %v", n, err)
	}
	if b.String() != "x <secret> y" {
		t.Errorf("writer wrote %q", b.String())
	}
	var nilScrubber *Scrubber
	if got := nilScrubber.Scrub("a"); got != "a" {
		t.Errorf("nil scrubber changed text: %q", got)
	}
}
