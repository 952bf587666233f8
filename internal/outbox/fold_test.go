package outbox

import "testing"

func TestFolder(t *testing.T) {
	t.Parallel()
	type msg struct {
		len   int
		due   bool
		alone bool
	}
	cases := []struct {
		name string
		msgs []msg
		want int
	}{
		{"the head always, even oversized", []msg{{200, true, false}, {1, true, false}}, 1},
		{"the head even if not due", []msg{{10, false, false}}, 1},
		{"as many as fit with separators", []msg{{40, true, false}, {40, true, false}, {40, true, false}}, 2}, // 40+2+40=82, +2+40=124 > 100
		{"exactly at the limit", []msg{{49, true, false}, {49, true, false}}, 2},                              // 49+2+49=100
		{"stops at the first not due", []msg{{10, true, false}, {10, false, false}, {10, true, false}}, 1},
		{"stops at the first that does not fit", []msg{{10, true, false}, {95, true, false}, {1, true, false}}, 1},
		{"an alone head carries nothing more", []msg{{10, true, true}, {10, true, false}}, 1},
		{"stops at the first alone", []msg{{10, true, false}, {10, true, false}, {10, true, true}, {10, true, false}}, 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			f := NewFolder(ClaimRequest{MaxChars: 100, SeparatorLen: 2})
			got := 0
			for _, m := range c.msgs {
				if !f.Add(m.len, m.due, m.alone) {
					break
				}
				got++
			}
			if got != c.want {
				t.Errorf("folded %d messages, want %d", got, c.want)
			}
		})
	}
}
