package delivery

import "testing"

func TestLane(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		d    Destination
		want string
	}{
		{"sender with an address", Destination{Sender: "chatwork", Address: "room/42"}, "chatwork/room/42"},
		{"address with a query", Destination{Sender: "cam", Address: "panel/messenger?users=a@x,b@x&sealed"}, "cam/panel/messenger?users=a@x,b@x&sealed"},
		{"sender without an address", Destination{Sender: "console"}, "console"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			if got := c.d.Lane(); got != c.want {
				t.Errorf("got %q, want %q", got, c.want)
			}
			if got := ParseLane(c.want); got != c.d {
				t.Errorf("ParseLane(%q) = %+v, want %+v", c.want, got, c.d)
			}
		})
	}
}

func TestParseLaneSplitsAtTheFirstSlash(t *testing.T) {
	t.Parallel()
	// Sender names hold no "/", so everything after the first one is the
	// kind's address, slashes and all.
	want := Destination{Sender: "cam", Address: "panel/ops/night"}
	if got := ParseLane("cam/panel/ops/night"); got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

func TestLenCountsUTF16(t *testing.T) {
	t.Parallel()
	for s, want := range map[string]int{"": 0, "abc": 3, "日本語": 3, "🔥x": 3} {
		if got := Len(s); got != want {
			t.Errorf("Len(%q) = %d, want %d", s, got, want)
		}
	}
	if got := Truncate("a🔥b", 2); got != "a" {
		t.Errorf("Truncate = %q, want %q", got, "a")
	}
	if got := Truncate("日本語", 2); got != "日本" {
		t.Errorf("Truncate = %q, want %q", got, "日本")
	}
}
