package intake_test

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/relayhq/relay/internal/intake"
	"github.com/relayhq/relay/internal/outbox"
)

const opsRoutes = `
routes:
  ops:
    targets:
      - sender: chatwork
        room: "111"
      - sender: chatmessenger
        panel: ops-room
`

// TestAcceptRejects specifies every way Accept refuses a webhook: the code
// the handler turns into a status, a message that names the problem, and
// nothing in the outbox.
func TestAcceptRejects(t *testing.T) {
	t.Parallel()
	firing := func(t *testing.T) []byte { return payload(t, "alertmanager/firing.json") }
	cases := []struct {
		name     string
		req      func(t *testing.T) intake.Request
		storeErr error
		wantCode intake.Code
		wantMsg  []string // substrings of the error's text
		wantIs   error
	}{
		{
			name: "unknown route",
			req: func(t *testing.T) intake.Request {
				return intake.Request{Source: "alertmanager", Route: "nope", ContentType: "application/json", Body: firing(t)}
			},
			wantCode: intake.NotFound, wantMsg: []string{`unknown route "nope"`},
		},
		{
			name: "unknown source",
			req: func(t *testing.T) intake.Request {
				return intake.Request{Source: "nagios", Route: "ops", ContentType: "application/json", Body: firing(t)}
			},
			wantCode: intake.NotFound, wantMsg: []string{"unknown source", "nagios"},
		},
		{
			name: "direct target of an unknown sender kind",
			req: func(t *testing.T) intake.Request {
				return intake.Request{Source: "alertmanager", Direct: &intake.Direct{Kind: "slack", Dest: "1"},
					ContentType: "application/json", Body: firing(t)}
			},
			wantCode: intake.NotFound, wantMsg: []string{"unknown sender kind", `"slack"`},
		},
		{
			name: "direct target of a kind that takes no direct URLs",
			req: func(t *testing.T) intake.Request {
				return intake.Request{Source: "alertmanager", Direct: &intake.Direct{Kind: "console", Dest: "1"},
					ContentType: "application/json", Body: firing(t)}
			},
			wantCode: intake.NotFound, wantMsg: []string{`"console"`, "no direct URLs"},
		},
		{
			name: "direct chatwork target with a room that is not an id",
			req: func(t *testing.T) intake.Request {
				return intake.Request{Source: "alertmanager", Direct: &intake.Direct{Kind: "chatwork", Dest: "general"},
					ContentType: "application/json", Body: firing(t)}
			},
			wantCode: intake.Invalid, wantMsg: []string{"room"},
		},
		{
			// 30 digits: no Chatwork room can have that id.
			name: "direct chatwork target with a room id too long to exist",
			req: func(t *testing.T) intake.Request {
				return intake.Request{Source: "alertmanager", Direct: &intake.Direct{Kind: "chatwork", Dest: "123456789012345678901234567890"},
					ContentType: "application/json", Body: firing(t)}
			},
			wantCode: intake.Invalid, wantMsg: []string{"room id", "at most 18 digits"},
		},
		{
			name: "direct chatmessenger message without users",
			req: func(t *testing.T) intake.Request {
				return intake.Request{Source: "alertmanager", Direct: &intake.Direct{Kind: "chatmessenger", Dest: "messenger"},
					ContentType: "application/json", Body: firing(t)}
			},
			wantCode: intake.Invalid, wantMsg: []string{"messenger", "needs users"},
		},
		{
			// A '&' would end the user in the destination's address.
			name: "direct chatmessenger user that does not fit the address",
			req: func(t *testing.T) intake.Request {
				return intake.Request{Source: "alertmanager", Direct: &intake.Direct{Kind: "chatmessenger", Dest: "ops",
					Query: url.Values{"users": {"a@x&sealed"}}}, ContentType: "application/json", Body: firing(t)}
			},
			wantCode: intake.Invalid, wantMsg: []string{"user", `"a@x&sealed"`},
		},
		{
			name: "direct target naming a template that does not exist",
			req: func(t *testing.T) intake.Request {
				return intake.Request{Source: "alertmanager", Direct: &intake.Direct{Kind: "chatwork", Dest: "42", Template: "made-up-by-the-client"},
					ContentType: "application/json", Body: firing(t)}
			},
			wantCode: intake.Invalid, wantMsg: []string{"unknown template", "made-up-by-the-client"},
		},
		{
			name: "JSON syntax error",
			req: func(*testing.T) intake.Request {
				return intake.Request{Source: "alertmanager", Route: "ops", ContentType: "application/json",
					Body: []byte("{\"status\": \"firing\",\n \"alerts\": [}")}
			},
			wantCode: intake.Invalid, wantMsg: []string{"alertmanager payload", "line 2"},
		},
		{
			name: "wrong JSON type",
			req: func(*testing.T) intake.Request {
				return intake.Request{Source: "alertmanager", Route: "ops", ContentType: "application/json",
					Body: []byte(`{"version": "4", "status": "firing", "alerts": "HighErrorRate"}`)}
			},
			wantCode: intake.Invalid, wantMsg: []string{"alerts", "array"},
		},
		{
			name: "empty body",
			req: func(*testing.T) intake.Request {
				return intake.Request{Source: "grafana", Route: "ops", ContentType: "application/json"}
			},
			wantCode: intake.Invalid, wantMsg: []string{"grafana payload"},
		},
		{
			name: "XML content type",
			req: func(t *testing.T) intake.Request {
				return intake.Request{Source: "alertmanager", Route: "ops", ContentType: "application/xml", Body: firing(t)}
			},
			wantCode: intake.Unsupported, wantMsg: []string{`"application/xml"`, "application/json"},
		},
		{
			name: "text/plain to alertmanager",
			req: func(*testing.T) intake.Request {
				return intake.Request{Source: "alertmanager", Route: "ops", ContentType: "text/plain", Body: []byte("disk full")}
			},
			wantCode: intake.Unsupported, wantMsg: []string{"text/plain"},
		},
		{
			name:     "outbox full",
			req:      func(t *testing.T) intake.Request { return amRequest(t, "ops", "alertmanager/firing.json") },
			storeErr: outbox.ErrFull,
			wantCode: intake.Unavailable, wantMsg: []string{"full", "retry"}, wantIs: outbox.ErrFull,
		},
		{
			name:     "outbox failing",
			req:      func(t *testing.T) intake.Request { return amRequest(t, "ops", "alertmanager/firing.json") },
			storeErr: errors.New("disk I/O error"),
			wantCode: intake.Unavailable, wantMsg: []string{"cannot store", "retry"},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			fx := newFixture(t, opsRoutes, nil)
			fx.store.err = c.storeErr
			res, err := fx.p.Accept(context.Background(), c.req(t))
			var ie *intake.Error
			if !errors.As(err, &ie) {
				t.Fatalf("Accept error = %v (%T), want an *intake.Error", err, err)
			}
			if ie.Code != c.wantCode {
				t.Errorf("code = %d, want %d (%v)", ie.Code, c.wantCode, err)
			}
			for _, s := range c.wantMsg {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not contain %q", err, s)
				}
			}
			if c.wantIs != nil && !errors.Is(err, c.wantIs) {
				t.Errorf("error %v does not wrap %v", err, c.wantIs)
			}
			if res != (intake.Result{}) {
				t.Errorf("result = %+v, want the zero result", res)
			}
			if got := fx.store.stored(); len(got) != 0 {
				t.Errorf("stored %d batches, want none", len(got))
			}
			if got := counterSum(t, fx.reg, "relay_messages_enqueued_total"); got != 0 {
				t.Errorf("relay_messages_enqueued_total = %v, want 0", got)
			}
		})
	}
}

// TestPreviewRejectsLikeAccept checks that a preview fails with the same
// code as the webhook it previews would.
func TestPreviewRejectsLikeAccept(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, opsRoutes, nil)
	cases := []struct {
		name string
		req  intake.Request
		want intake.Code
	}{
		{"unknown route", intake.Request{Source: "alertmanager", Route: "nope", ContentType: "application/json", Body: []byte("{}")}, intake.NotFound},
		{"bad JSON", intake.Request{Source: "alertmanager", Route: "ops", ContentType: "application/json", Body: []byte("{")}, intake.Invalid},
		{"bad content type", intake.Request{Source: "grafana", Route: "ops", ContentType: "image/png", Body: []byte("{}")}, intake.Unsupported},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			_, err := fx.p.Preview(context.Background(), c.req)
			var ie *intake.Error
			if !errors.As(err, &ie) || ie.Code != c.want {
				t.Fatalf("Preview error = %v, want code %d", err, c.want)
			}
		})
	}
}
