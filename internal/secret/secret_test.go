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
