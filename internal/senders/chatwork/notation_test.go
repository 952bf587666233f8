package chatwork

import "testing"

func TestDisarmMentions(t *testing.T) {
	t.Parallel()
	cases := []struct{ in, want string }{
		{"[info][title]Disk full[/title]on db-1[/info]", "[info][title]Disk full[/title]on db-1[/info]"},
		{"joined: [toall] wake up", "joined: ［toall] wake up"},
		{"[TOALL]", "［TOALL]"},
		{"[To:1234] you", "［To:1234] you"},
		{"[rp aid=1 to=2-3] re", "［rp aid=1 to=2-3] re"},
		{"[toaster] [to] [2026-12-01]", "[toaster] [to] [2026-12-01]"},
		{"[[toall]]", "[［toall]]"},
		{"no brackets", "no brackets"},
	}
	for _, c := range cases {
		if got := DisarmMentions(c.in); got != c.want {
			t.Errorf("DisarmMentions(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
