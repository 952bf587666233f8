package handlers

import (
	"encoding/json"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/relayhq/relay/internal/delivery"
	"github.com/relayhq/relay/internal/outbox"
	"github.com/relayhq/relay/internal/outbox/sqlite"
	"github.com/relayhq/relay/internal/secret"
	"github.com/relayhq/relay/internal/senders/chatwork"
)

func deadLetters(ids ...int64) []outbox.DeadLetter {
	var out []outbox.DeadLetter
	for _, id := range ids {
		out = append(out, outbox.DeadLetter{
			Message: delivery.Message{ID: id, Dest: delivery.Destination{Sender: chatwork.Name, Address: chatwork.Address("1")}, Body: "b"},
			Reason:  "unknown room", DiedAt: testNow.Add(-time.Hour),
		})
	}
	return out
}

var adminHeader = http.Header{"Authorization": {"Bearer " + adminToken}}

func TestAdminNeedsTheToken(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name       string
		token      string // the relay's admin token; empty = not set
		header     http.Header
		wantStatus int
		wantError  string
	}{
		{name: "right token", token: adminToken, header: adminHeader, wantStatus: 200},
		{name: "no token sent", token: adminToken, wantStatus: 401, wantError: "Bearer"},
		{name: "wrong token", token: adminToken, header: http.Header{"Authorization": {"Bearer admin-t0keN"}}, wantStatus: 401},
		{name: "token as basic-auth password", token: adminToken, header: http.Header{"Authorization": {"Basic " + basicCreds("admin", adminToken)}}, wantStatus: 401},
		{name: "admin token not set", header: adminHeader, wantStatus: 403, wantError: "RELAY_ADMIN_TOKEN"},
		{name: "admin token not set, empty bearer", header: http.Header{"Authorization": {"Bearer "}}, wantStatus: 403},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			env := newEnv(t, &fakePipeline{}, func(d *Deps) { d.AdminToken = secret.New(tc.token) })
			env.dead.dead = deadLetters(1, 2)
			for _, req := range []struct{ method, target, body string }{
				{http.MethodGet, "/api/v1/deadletters", ""},
				{http.MethodPost, "/api/v1/deadletters/requeue", `{"ids":[1]}`},
			} {
				w := env.do(t, req.method, req.target, jsonType, req.body, tc.header)
				if w.Code != tc.wantStatus {
					t.Fatalf("%s %s: got %d %s, want %d", req.method, req.target, w.Code, w.Body, tc.wantStatus)
				}
				if w.Code == http.StatusOK {
					continue
				}
				if e := decodeError(t, w); !strings.Contains(e.Error, tc.wantError) {
					t.Errorf("got error %q, want it to say %q", e.Error, tc.wantError)
				}
			}
			if tc.wantStatus != http.StatusOK && len(env.dead.dead) != 2 {
				t.Errorf("got %d dead letters left, want 2: a refused requeue must not run", len(env.dead.dead))
			}
		})
	}
}

func TestAdminListDeadLetters(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name       string
		query      string
		wantStatus int
		wantIDs    []int64
	}{
		{name: "default limit", query: "", wantStatus: 200, wantIDs: []int64{1, 2, 3}},
		{name: "limit", query: "?limit=2", wantStatus: 200, wantIDs: []int64{1, 2}},
		{name: "limit zero", query: "?limit=0", wantStatus: 400},
		{name: "limit not a number", query: "?limit=all", wantStatus: 400},
		{name: "limit too large", query: "?limit=1000000", wantStatus: 400},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			env := newEnv(t, &fakePipeline{}, nil)
			env.dead.dead = deadLetters(1, 2, 3)
			w := env.do(t, http.MethodGet, "/api/v1/deadletters"+tc.query, "", "", adminHeader)
			if w.Code != tc.wantStatus {
				t.Fatalf("got %d %s, want %d", w.Code, w.Body, tc.wantStatus)
			}
			if w.Code != http.StatusOK {
				decodeError(t, w)
				return
			}
			var got deadLetterList
			if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
				t.Fatal(err)
			}
			var ids []int64
			for _, d := range got.DeadLetters {
				ids = append(ids, d.ID)
				if d.Reason != "unknown room" {
					t.Errorf("dead letter %d: got reason %q, want %q", d.ID, d.Reason, "unknown room")
				}
			}
			if !equalIDs(ids, tc.wantIDs) {
				t.Errorf("got ids %v, want %v", ids, tc.wantIDs)
			}
		})
	}
}

func TestAdminListEmptyIsAnArray(t *testing.T) {
	t.Parallel()
	env := newEnv(t, &fakePipeline{}, nil)
	w := env.do(t, http.MethodGet, "/api/v1/deadletters", "", "", adminHeader)
	if got, want := strings.TrimSpace(w.Body.String()), `{"dead_letters":[]}`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

func TestAdminRequeue(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name       string
		body       string
		wantStatus int
		wantCount  int
		wantLeft   int
		wantBody   string
	}{
		{name: "some ids", body: `{"ids":[1,3]}`, wantStatus: 200, wantCount: 2, wantLeft: 1, wantBody: `{"requeued":2,"skipped":[]}`},
		{name: "empty list means all", body: `{"ids":[]}`, wantStatus: 200, wantCount: 3, wantLeft: 0},
		{name: "no ids field means all", body: `{}`, wantStatus: 200, wantCount: 3, wantLeft: 0},
		{name: "unknown id", body: `{"ids":[9]}`, wantStatus: 200, wantCount: 0, wantLeft: 3,
			wantBody: `{"requeued":0,"skipped":[{"id":9,"reason":"no such dead letter"}]}`},
		{name: "malformed body", body: `{"ids":`, wantStatus: 400, wantLeft: 3},
		{name: "ids not numbers", body: `{"ids":["a"]}`, wantStatus: 400, wantLeft: 3},
		{name: "no body", body: ``, wantStatus: 400, wantLeft: 3},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			env := newEnv(t, &fakePipeline{}, nil)
			env.dead.dead = deadLetters(1, 2, 3)
			w := env.do(t, http.MethodPost, "/api/v1/deadletters/requeue", jsonType, tc.body, adminHeader)
			if w.Code != tc.wantStatus {
				t.Fatalf("got %d %s, want %d", w.Code, w.Body, tc.wantStatus)
			}
			if w.Code == http.StatusOK {
				var got outbox.RequeueResult
				if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
					t.Fatal(err)
				}
				if got.Requeued != tc.wantCount {
					t.Errorf("got %d requeued, want %d", got.Requeued, tc.wantCount)
				}
				if body := strings.TrimSpace(w.Body.String()); tc.wantBody != "" && body != tc.wantBody {
					t.Errorf("got %s, want %s", body, tc.wantBody)
				}
			} else {
				decodeError(t, w)
			}
			if len(env.dead.dead) != tc.wantLeft {
				t.Errorf("got %d dead letters left, want %d", len(env.dead.dead), tc.wantLeft)
			}
		})
	}
}

func TestAdminStoreErrorIs500AndLogged(t *testing.T) {
	t.Parallel()
	env := newEnv(t, &fakePipeline{}, nil)
	env.dead.err = errStoreDown
	w := env.do(t, http.MethodGet, "/api/v1/deadletters", "", "", adminHeader)
	if w.Code != http.StatusInternalServerError {
		t.Fatalf("got %d, want 500", w.Code)
	}
	if e := decodeError(t, w); strings.Contains(e.Error, errStoreDown.Error()) {
		t.Errorf("got error %q: an unclassified error's text belongs in the log, not the answer", e.Error)
	}
	logged := env.logs.FilterMessage("request failed").FilterFieldKey("error").All()
	if len(logged) != 1 {
		t.Fatalf("got %d error log lines, want 1", len(logged))
	}
}

func equalIDs(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func basicCreds(user, pass string) string {
	r := newRequest(http.MethodGet, "/", "")
	r.SetBasicAuth(user, pass)
	return strings.TrimPrefix(r.Header.Get("Authorization"), "Basic ")
}

// TestAdminRequeueSkipsSupersededDeadLetter: on a real outbox, a firing
// dead-lettered and its resolve delivered; requeueing the firing through
// the API skips it, keeps it dead, and the answer says why.
func TestAdminRequeueSkipsSupersededDeadLetter(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	store, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "outbox.db"), sqlite.Options{Now: func() time.Time { return testNow }})
	if err != nil {
		t.Fatalf("open outbox: %v", err)
	}
	t.Cleanup(func() { _ = store.Close() })
	dest := delivery.Destination{Sender: chatwork.Name, Address: chatwork.Address("1")}
	_, err = store.Enqueue(ctx, outbox.Batch{NotificationID: "n", Messages: []delivery.Message{
		{Dest: dest, Body: "FIRING", Group: `{}:{alertname="Down"}`},
		{Dest: dest, Body: "RESOLVED", Group: `{}:{alertname="Down"}`},
	}})
	if err != nil {
		t.Fatalf("Enqueue: %v", err)
	}
	req := outbox.ClaimRequest{Lane: dest.Lane(), MaxChars: 1000, Lease: time.Minute}
	claim := func() []int64 {
		c, err := store.Claim(ctx, req)
		if err != nil || len(c.Messages) != 1 {
			t.Fatalf("Claim = %+v, %v", c, err)
		}
		return []int64{c.Messages[0].ID}
	}
	firing := claim()
	if err := store.Bury(ctx, firing, "http_401", "bad token"); err != nil {
		t.Fatalf("Bury: %v", err)
	}
	if err := store.Ack(ctx, claim()); err != nil {
		t.Fatalf("Ack: %v", err)
	}

	env := newEnv(t, &fakePipeline{}, func(d *Deps) { d.DeadLetters = store })
	w := env.do(t, http.MethodPost, "/api/v1/deadletters/requeue", jsonType, `{"ids":[`+strconv.FormatInt(firing[0], 10)+`]}`, adminHeader)
	if w.Code != http.StatusOK {
		t.Fatalf("got %d %s, want 200", w.Code, w.Body)
	}
	want := `{"requeued":0,"skipped":[{"id":` + strconv.FormatInt(firing[0], 10) +
		`,"reason":"superseded: a newer notification of its group was delivered at 2026-03-01T12:00:00Z"}]}`
	if got := strings.TrimSpace(w.Body.String()); got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	dead, err := store.DeadLetters(ctx, 0)
	if err != nil || len(dead) != 1 || dead[0].ID != firing[0] {
		t.Errorf("dead letters = %+v, %v; want the firing kept", dead, err)
	}
}
