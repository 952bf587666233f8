package delivery

import "testing"

func TestLane(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		d    Destination
		want string
	}{
		{"chatwork room", Destination{Sender: "chatwork", Room: "42"}, "chatwork/room/42"},
		{"cam dm", Destination{Sender: "cam", Panel: "messenger", Users: []string{"a@x", "b@x"}}, "cam/panel/messenger?users=a@x,b@x"},
		{"sealed", Destination{Sender: "cam", Panel: "ops", Sealed: true}, "cam/panel/ops&sealed"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			if got := c.d.Lane(); got != c.want {
				t.Errorf("got %q, want %q", got, c.want)
			}
		})
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
