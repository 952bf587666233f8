package sqlite

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/relayhq/relay/internal/delivery"
)

// TestLaneQueriesSeek checks that the questions the dispatcher asks after
// every Enqueue (Lanes, then Claim per lane) are answered by index seeks,
// never by reading the queued messages one by one (which made ingest into
// a long queue quadratic).
func TestLaneQueriesSeek(t *testing.T) {
	t.Parallel()
	s := open(t, filepath.Join(t.TempDir(), "outbox.db"), Options{})
	cases := []struct {
		name, query string
		args        []any
		want        string // in the plan
	}{
		{"lanes", sqlLanes, nil, "SEARCH messages USING COVERING INDEX messages_lane_"},
		{"lease held", sqlLeaseHeld, []any{"chatwork/1", 0}, "INDEX messages_lane_claimed (lane=? AND claimed_until>?)"},
		{"lane head", sqlLaneHead, []any{"chatwork/1"}, "INDEX messages_lane_id (lane=?)"},
		{"lane count up to", sqlLaneCountUpTo, []any{"chatwork/1", 11}, "SEARCH messages USING COVERING INDEX messages_lane_"},
		{"lane newest", sqlLaneNewest, []any{"chatwork/1"}, "INDEX messages_lane_id (lane=?)"},
		{"lane count", sqlLaneCount, []any{"chatwork/1"}, "SEARCH messages USING COVERING INDEX messages_lane_"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rows, err := s.db.Query(`EXPLAIN QUERY PLAN `+c.query, c.args...)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			var plan []string
			for rows.Next() {
				var id, parent, unused int
				var detail string
				if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
					t.Fatal(err)
				}
				plan = append(plan, detail)
			}
			if err := rows.Err(); err != nil {
				t.Fatal(err)
			}
			got := strings.Join(plan, "; ")
			if !strings.Contains(got, c.want) || strings.Contains(got, "SCAN messages") {
				t.Errorf("plan of %s is %q, want a seek using %s", c.name, got, c.want)
			}
		})
	}
}

func TestLanesListsEachLaneOnceInOrder(t *testing.T) {
	t.Parallel()
	s := open(t, filepath.Join(t.TempDir(), "outbox.db"), Options{})
	lanes, err := s.Lanes(t.Context())
	if err != nil || len(lanes) != 0 {
		t.Fatalf("empty outbox: Lanes = %q, %v; want none", lanes, err)
	}
	for _, room := range []string{"30", "1", "30", "200", "1"} {
		if _, err := s.Enqueue(t.Context(), batch(room, "a", "b")); err != nil {
			t.Fatal(err)
		}
	}
	lanes, err = s.Lanes(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, room := range []string{"1", "200", "30"} {
		want = append(want, delivery.Destination{Sender: "chatwork", Address: "room/" + room}.Lane())
	}
	if !slices.Equal(lanes, want) {
		t.Errorf("Lanes = %q, want %q", lanes, want)
	}
}
