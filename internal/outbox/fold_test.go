package outbox

import (
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/relayhq/relay/internal/delivery"
)

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

// lane returns messages of body length bodyLen and line length lineLen,
// all due.
func laneOf(n, bodyLen, lineLen int) []Candidate {
	out := make([]Candidate, n)
	for i := range out {
		out[i] = Candidate{Due: true, Message: delivery.Message{
			ID: int64(i + 1), Body: strings.Repeat("b", bodyLen), Line: strings.Repeat("l", lineLen),
		}}
	}
	return out
}

func plan(t *testing.T, req ClaimRequest, free int, fold, burst bool, lane []Candidate) Post {
	t.Helper()
	i := 0
	p, err := PlanPost(req, free, fold, burst, func() (Candidate, bool, error) {
		if i == len(lane) {
			return Candidate{}, false, nil
		}
		i++
		return lane[i-1], true, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestPlanPost(t *testing.T) {
	t.Parallel()
	// Full-size posts carry 10 bodies of 98 with separators of 2 (1,000);
	// a storm post 100 lines of 9 with newlines under a heading of 100.
	req := ClaimRequest{MaxChars: 1000, SeparatorLen: 2, Storm: true, HeadingLen: 100}
	cases := []struct {
		name        string
		req         ClaimRequest
		free        int
		fold, burst bool
		lane        []Candidate
		want        int
		storm, full bool
	}{
		{name: "no fold: the head alone", req: req, free: 10, lane: laneOf(50, 98, 9), want: 1},
		{name: "fold what fits, nothing left out", req: req, free: 10, fold: true, lane: laneOf(4, 98, 9), want: 4},
		{name: "fold, more than fits: full", req: req, free: 10, fold: true, lane: laneOf(15, 98, 9), want: 10, full: true},
		{name: "backlog within the free slots: full form", req: req, free: 3, fold: true, lane: laneOf(30, 98, 9), want: 10, full: true},
		{name: "backlog beyond the free slots: storm form", req: req, free: 3, fold: true, lane: laneOf(31, 98, 9), want: 31, storm: true},
		{name: "storm post full", req: req, free: 3, fold: true, lane: laneOf(200, 98, 9), want: 90, storm: true, full: true},
		{name: "a burst arriving: storm form at once", req: req, free: 9, fold: true, burst: true, lane: laneOf(15, 98, 9), want: 15, storm: true},
		{name: "a burst that fits one post: full form", req: req, free: 9, fold: true, burst: true, lane: laneOf(10, 98, 9), want: 10},
		{name: "lines no shorter: full form", req: req, free: 1, fold: true, burst: true, lane: laneOf(40, 98, 98), want: 10, full: true},
		{name: "storm off", req: ClaimRequest{MaxChars: 1000, SeparatorLen: 2}, free: 1, fold: true, burst: true, lane: laneOf(40, 98, 9), want: 10, full: true},
		{name: "no limit: never a storm", req: req, free: math.MaxInt, fold: true, lane: laneOf(40, 98, 9), want: 10, full: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			p := plan(t, c.req, c.free, c.fold, c.burst, c.lane)
			if len(p.Messages) != c.want || p.Storm != c.storm || p.Full != c.full {
				t.Errorf("got %d messages, storm %v, full %v; want %d, %v, %v", len(p.Messages), p.Storm, p.Full, c.want, c.storm, c.full)
			}
			for i, m := range p.Messages {
				if m.ID != int64(i+1) {
					t.Fatalf("message %d has id %d: not in lane order", i, m.ID)
				}
			}
		})
	}
}

func TestPlanPostStopsAtAMessageNotDue(t *testing.T) {
	t.Parallel()
	req := ClaimRequest{MaxChars: 1000, SeparatorLen: 2, Storm: true, HeadingLen: 100}
	lane := laneOf(40, 98, 9)
	lane[5].Due = false // backing off: what is behind it waits too
	if p := plan(t, req, 1, true, true, lane); len(p.Messages) != 5 || p.Storm || p.Full {
		t.Errorf("got %d messages, storm %v, full %v; want the 5 before it, full form, not full", len(p.Messages), p.Storm, p.Full)
	}
}

func TestPaceWaitAndArriving(t *testing.T) {
	t.Parallel()
	req := ClaimRequest{Quiet: 100 * time.Millisecond}
	cases := []struct {
		pace, since, want time.Duration
	}{
		{0, 0, 0},
		{time.Second, 0, 100 * time.Millisecond}, // look again when the lane may turn quiet
		{time.Second, 40 * time.Millisecond, 60 * time.Millisecond}, // ... which is sooner
		{50 * time.Millisecond, 0, 50 * time.Millisecond},           // the pace ends first
		{time.Second, 100 * time.Millisecond, 0},                    // quiet: the burst is over
	}
	for _, c := range cases {
		if got := PaceWait(req, c.pace, c.since); got != c.want {
			t.Errorf("PaceWait(pace %v, since %v) = %v, want %v", c.pace, c.since, got, c.want)
		}
	}
	if got := PaceWait(ClaimRequest{}, time.Second, time.Hour); got != time.Second {
		t.Errorf("without Quiet: PaceWait = %v, want the whole pace", got)
	}
	if !Arriving(req, 99*time.Millisecond) || Arriving(req, 100*time.Millisecond) {
		t.Error("Arriving disagrees with Quiet")
	}
}

func TestTallyRoundTrip(t *testing.T) {
	t.Parallel()
	in := []delivery.Count{{Status: "firing", Name: "DiskFull", Severity: "critical", N: 3}, {Status: "resolved", Name: "X", N: 1}}
	got, err := DecodeTally(EncodeTally(in))
	if err != nil || !slices.Equal(got, in) {
		t.Errorf("round trip: got %+v, %v; want %+v", got, err, in)
	}
	if s := EncodeTally(nil); s != "" {
		t.Errorf("EncodeTally(nil) = %q, want empty", s)
	}
	if got, err := DecodeTally(""); err != nil || got != nil {
		t.Errorf("DecodeTally(\"\") = %v, %v", got, err)
	}
	if _, err := DecodeTally("{"); err == nil {
		t.Error("DecodeTally of broken JSON: no error")
	}
}
