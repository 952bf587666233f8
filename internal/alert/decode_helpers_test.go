package alert

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fixture returns a payload from the repository's testdata/payloads.
func fixture(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "payloads", filepath.FromSlash(name)))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// mustTime parses an RFC 3339 time for a test table.
func mustTime(tb testing.TB, s string) time.Time {
	tb.Helper()
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		tb.Fatal(err)
	}
	return t
}

// badInput is a payload a decoder must reject with a *DecodeError whose
// text contains want.
type badInput struct {
	name string
	body string
	want string
}

// checkRejects runs decode over cases.
func checkRejects(t *testing.T, decode func([]byte) (*Data, error), cases []badInput) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			d, err := decode([]byte(tc.body))
			if err == nil {
				t.Fatalf("got %+v, want an error containing %q", d, tc.want)
			}
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("got %T %v, want a *DecodeError", err, err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got error %q, want it to contain %q", err, tc.want)
			}
		})
	}
}
