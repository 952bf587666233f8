package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/relayhq/relay/internal/delivery"
	"github.com/relayhq/relay/internal/testenv"
)

// backlog queues n messages for the room's lane straight into the table,
// in one statement: a queue as long as a storm leaves, made in a moment.
func backlog(tb testing.TB, s *Store, room string, n int) {
	tb.Helper()
	d := delivery.Destination{Sender: "chatwork", Address: "room/" + room}
	dest, err := json.Marshal(d)
	if err != nil {
		tb.Fatal(err)
	}
	_, err = s.pool.Exec(context.Background(), `INSERT INTO messages
		(lane, sender, destination, body, notification_id, source, route, created_at, available_at)
		SELECT $1, $2, $3, 'backlog ' || g, 'n-backlog', 'alertmanager', 'default', 0, 0
		FROM generate_series(1, $4::int) AS g`, d.Lane(), d.Sender, string(dest), n)
	if err != nil {
		tb.Fatalf("queue a backlog of %d in room %s: %v", n, room, err)
	}
}

// scanNode is the part of an EXPLAIN (ANALYZE, FORMAT JSON) plan node the
// plan test reads.
type scanNode struct {
	NodeType      string     `json:"Node Type"`
	Relation      string     `json:"Relation Name"`
	Index         string     `json:"Index Name"`
	Rows          float64    `json:"Actual Rows"`
	Loops         float64    `json:"Actual Loops"`
	FilteredOut   float64    `json:"Rows Removed by Filter"`
	HeapRechecked float64    `json:"Rows Removed by Index Recheck"`
	Plans         []scanNode `json:"Plans"`
}

// read is how many rows of the relation the node read: those it returned
// over all its loops plus those it read and dropped.
func (n scanNode) read() float64 { return n.Rows*n.Loops + n.FilteredOut + n.HeapRechecked }

// messageScans lists the nodes of plan that read the messages table.
func messageScans(plan scanNode) []scanNode {
	var out []scanNode
	if plan.Relation == "messages" {
		out = append(out, plan)
	}
	for _, p := range plan.Plans {
		out = append(out, messageScans(p)...)
	}
	return out
}

// explain runs query (with args as SQL literals) as a prepared statement
// under plan_cache_mode mode and returns the executed plan.
func explain(t *testing.T, s *Store, mode, query, params, args string) scanNode {
	t.Helper()
	var plan scanNode
	err := pgx.BeginFunc(t.Context(), s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(t.Context(), `SET LOCAL plan_cache_mode = `+mode); err != nil {
			return err
		}
		if _, err := tx.Exec(t.Context(), `PREPARE q`+params+` AS `+query); err != nil {
			return err
		}
		var out []byte
		if err := tx.QueryRow(t.Context(), `EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE q`+args).Scan(&out); err != nil {
			return err
		}
		if _, err := tx.Exec(t.Context(), `DEALLOCATE q`); err != nil {
			return err
		}
		var plans []struct{ Plan scanNode }
		if err := json.Unmarshal(out, &plans); err != nil || len(plans) != 1 {
			return fmt.Errorf("decode plan %s: %v", out, err)
		}
		plan = plans[0].Plan
		return nil
	})
	if err != nil {
		t.Fatalf("explain %s: %v", query, err)
	}
	return plan
}

// TestLaneQueriesSeek checks that the questions the dispatcher asks after
// every Enqueue (Lanes, then Claim per lane) read a few entries of the
// messages_lane_* indexes, never a lane's messages one by one (which made
// ingest into a long queue quadratic). The queue is the awkward one for
// the planner: a long lane, then a short one queued behind it, analyzed;
// each query is planned both for its arguments and as the generic plan a
// cached statement switches to.
func TestLaneQueriesSeek(t *testing.T) {
	t.Parallel()
	url := testenv.Lookup(t, testenv.PostgresURL)
	s := open(t, url, Options{Schema: newSchema(t, url)})
	const long = 20000
	backlog(t, s, "1", long)
	backlog(t, s, "2", 20)
	if _, err := s.pool.Exec(t.Context(), `ANALYZE messages`); err != nil {
		t.Fatal(err)
	}
	if l := (delivery.Destination{Sender: "chatwork", Address: "room/1"}).Lane(); l != "chatwork/room/1" {
		t.Fatalf("lane of room 1 is %q, not the one the cases name", l)
	}
	cases := []struct {
		name, query  string
		params, args string // (types), (SQL literals)
		index        string // the index every read of messages must use
	}{
		{"lanes", sqlLanes, "", "", "messages_lane_"},
		{"lane state of the long lane", sqlLaneState, "(text, bigint)", "('chatwork/room/1', 0)", "messages_lane_"},
		{"lane state of the short lane", sqlLaneState, "(text, bigint)", "('chatwork/room/2', 0)", "messages_lane_"},
		{"count of the long lane up to 11", sqlLaneCountUpTo, "(text, bigint)", "('chatwork/room/1', 11)", "messages_lane_id"},
		{"count of the short lane up to 11", sqlLaneCountUpTo, "(text, bigint)", "('chatwork/room/2', 11)", "messages_lane_id"},
		{"first of the long lane", sqlLaneFirst, "(text, bigint)", "('chatwork/room/1', 20)", "messages_lane_id"},
		{"first of the short lane", sqlLaneFirst, "(text, bigint)", "('chatwork/room/2', 1000)", "messages_lane_id"},
		{"newest of the long lane", sqlLaneNewest, "(text)", "('chatwork/room/1')", "messages_lane_id"},
		{"newest of the short lane", sqlLaneNewest, "(text)", "('chatwork/room/2')", "messages_lane_id"},
	}
	for _, c := range cases {
		for _, mode := range []string{"force_custom_plan", "force_generic_plan"} {
			t.Run(c.name+"/"+mode, func(t *testing.T) {
				scans := messageScans(explain(t, s, mode, c.query, c.params, c.args))
				if len(scans) == 0 {
					t.Fatal("the plan reads no messages")
				}
				for _, n := range scans {
					if !strings.Contains(n.NodeType, "Index") || !strings.HasPrefix(n.Index, c.index) {
						t.Errorf("plan reads messages by %s %s, want an index scan of %s*", n.NodeType, n.Index, c.index)
					}
					// A few per lane and the count's limit, not the lane.
					if n.read() > 100 {
						t.Errorf("%s %s read %.0f rows of a %d-message lane", n.NodeType, n.Index, n.read(), long)
					}
				}
			})
		}
	}
}

func TestLanesListsEachLaneOnceInOrder(t *testing.T) {
	t.Parallel()
	url := testenv.Lookup(t, testenv.PostgresURL)
	s := open(t, url, Options{Schema: newSchema(t, url)})
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
