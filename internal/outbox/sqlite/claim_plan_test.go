package sqlite

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestClaimQueriesSeekTheLane checks that the questions Claim asks after
// every Enqueue are answered by an index seek on the lane, never by
// reading the lane's messages one by one (which made ingest into a long
// queue quadratic).
func TestClaimQueriesSeekTheLane(t *testing.T) {
	t.Parallel()
	s := open(t, filepath.Join(t.TempDir(), "outbox.db"), Options{})
	cases := []struct {
		name, query string
		args        []any
		want        string // in the plan
	}{
		{"lease held", sqlLeaseHeld, []any{"chatwork/1", 0}, "INDEX messages_lane_claimed (lane=? AND claimed_until>?)"},
		{"lane head", sqlLaneHead, []any{"chatwork/1"}, "INDEX messages_lane_id (lane=?)"},
		{"lane count up to", sqlLaneCountUpTo, []any{"chatwork/1", 11}, "SEARCH messages USING COVERING INDEX messages_lane_"},
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
