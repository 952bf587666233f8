package chatmessenger

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/relayhq/relay/internal/delivery"
	"github.com/relayhq/relay/internal/secret"
	"github.com/relayhq/relay/internal/senders/chatmessenger/chatmessengertest"
)

const token = "cam-token-s3cr3t"

var users = []string{"a@example.com", "b@example.com"}

func newFake(t *testing.T) *chatmessengertest.Server {
	t.Helper()
	return chatmessengertest.NewServer(t, chatmessengertest.Options{Token: token, Users: users, Rooms: []string{"障害対応"}})
}

func newSender(t *testing.T, serverURL, tok string, logger *zap.Logger) *Sender {
	t.Helper()
	s, err := New(Config{Name: "cam", URL: serverURL, Token: secret.New(tok)}, &http.Client{}, logger)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// dest is the destination of the sender "cam" at d.
func dest(d Dest) delivery.Destination {
	return delivery.Destination{Sender: "cam", Address: d.Address()}
}

func asError(t *testing.T, err error) *delivery.Error {
	t.Helper()
	var e *delivery.Error
	if !errors.As(err, &e) {
		t.Fatalf("got %v, want a *delivery.Error", err)
	}
	return e
}

func TestSendDeliversToPanel(t *testing.T) {
	t.Parallel()
	body := `FIRING "disk" <b>&</b> 100%`
	cases := []struct {
		name string
		dest delivery.Destination
		want chatmessengertest.Message
	}{
		{"direct message, sealed", dest(Dest{Panel: "messenger", Users: users, Sealed: true}),
			chatmessengertest.Message{PanelName: "messenger", Message: body, IsOpened: true, Users: users}},
		{"room with mentions", dest(Dest{Panel: "障害対応", Users: users[:1]}),
			chatmessengertest.Message{PanelName: "障害対応", Message: body, Users: users[:1]}},
		{"room without mentions", dest(Dest{Panel: "障害対応"}),
			chatmessengertest.Message{PanelName: "障害対応", Message: body}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			fake := newFake(t)
			if _, err := newSender(t, fake.URL(), token, nil).Send(context.Background(), c.dest, body); err != nil {
				t.Fatal(err)
			}
			got := fake.Messages()
			if len(got) != 1 {
				t.Fatalf("got %d messages, want 1", len(got))
			}
			got[0].At = c.want.At
			if !reflect.DeepEqual(got[0], c.want) {
				t.Errorf("got %+v, want %+v", got[0], c.want)
			}
		})
	}
}

func TestSendRejectsBeforeAnyRequest(t *testing.T) {
	t.Parallel()
	fake := newFake(t)
	s := newSender(t, fake.URL(), token, nil)
	cases := []struct {
		name, reason string
		dest         delivery.Destination
		body         string
	}{
		{"no panel", "bad_panel", dest(Dest{Users: users}), "x"},
		{"direct message to nobody", "no_users", dest(Dest{Panel: "messenger"}), "x"},
		{"empty body", "empty_body", dest(Dest{Panel: "messenger", Users: users}), ""},
		{"not a panel's address", "bad_panel", delivery.Destination{Sender: "cam", Address: "room/42"}, "x"},
	}
	for _, c := range cases {
		_, err := s.Send(context.Background(), c.dest, c.body)
		if e := asError(t, err); e.Class != delivery.Permanent || e.Reason != c.reason {
			t.Errorf("%s: got %v %q, want permanent %q", c.name, e.Class, e.Reason, c.reason)
		}
	}
	if n := fake.Requests(); n != 0 {
		t.Errorf("got %d requests, want none", n)
	}
}

func TestSendClassifiesFailures(t *testing.T) {
	t.Parallel()
	dm := dest(Dest{Panel: "messenger", Users: users})
	cases := []struct {
		name   string
		token  string
		dest   delivery.Destination
		setup  func(*chatmessengertest.Server)
		class  delivery.Class
		reason string
		answer string
	}{
		{name: "bad token", token: "wrong", dest: dm, class: delivery.Permanent, reason: "cam_805", answer: "805 APIトークンが正しくありません"},
		{name: "unknown user", dest: dest(Dest{Panel: "messenger", Users: []string{"z@example.com"}}), class: delivery.Permanent, reason: "cam_452"},
		{name: "unknown room", dest: dest(Dest{Panel: "nowhere"}), class: delivery.Permanent, reason: "cam_405"},
		{name: "too many requests", dest: dm, setup: func(f *chatmessengertest.Server) { f.FailNext(1, "491") }, class: delivery.RateLimited, reason: "cam_491"},
		{name: "server error", dest: dm, setup: func(f *chatmessengertest.Server) { f.FailNext(1, "500") }, class: delivery.Retryable, reason: "cam_500"},
		{name: "unavailable", dest: dm, setup: func(f *chatmessengertest.Server) { f.FailNext(1, "503") }, class: delivery.Retryable, reason: "cam_503"},
		{name: "admin only", dest: dm, setup: func(f *chatmessengertest.Server) { f.FailNext(1, "800") }, class: delivery.Permanent, reason: "cam_800"},
		{name: "undocumented code", dest: dm, setup: func(f *chatmessengertest.Server) { f.FailNext(1, "999") }, class: delivery.Permanent, reason: "cam_other"},
		{name: "HTTP 502", dest: dm, setup: func(f *chatmessengertest.Server) { f.FailNextHTTP(1, 502) }, class: delivery.Retryable, reason: "http_502"},
		{name: "HTTP 429", dest: dm, setup: func(f *chatmessengertest.Server) { f.FailNextHTTP(1, 429) }, class: delivery.RateLimited, reason: "http_429"},
		{name: "HTTP 403", dest: dm, setup: func(f *chatmessengertest.Server) { f.FailNextHTTP(1, 403) }, class: delivery.Permanent, reason: "http_403"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			fake := newFake(t)
			if c.setup != nil {
				c.setup(fake)
			}
			tok := token
			if c.token != "" {
				tok = c.token
			}
			_, err := newSender(t, fake.URL(), tok, nil).Send(context.Background(), c.dest, "alert")
			e := asError(t, err)
			if e.Class != c.class || e.Reason != c.reason {
				t.Errorf("got %v %q, want %v %q", e.Class, e.Reason, c.class, c.reason)
			}
			if c.answer != "" && e.Answer != c.answer {
				t.Errorf("got answer %q, want %q", e.Answer, c.answer)
			}
			if c.class == delivery.RateLimited && c.reason == "cam_491" && !e.Until.IsZero() {
				t.Errorf("got Until %v, want zero: the API does not say how long", e.Until)
			}
			if n := len(fake.Messages()); n != 0 {
				t.Errorf("got %d messages accepted, want none", n)
			}
		})
	}
}

func TestSendTransportAndContext(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.NotFoundHandler())
	closedURL := srv.URL
	srv.Close()
	dm := dest(Dest{Panel: "messenger", Users: users})

	_, err := newSender(t, closedURL, token, nil).Send(context.Background(), dm, "x")
	if e := asError(t, err); e.Class != delivery.Retryable || e.Reason != "transport" {
		t.Errorf("closed server: got %v %q, want retryable transport", e.Class, e.Reason)
	}

	fake := newFake(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = newSender(t, fake.URL(), token, nil).Send(ctx, dm, "x")
	if e := asError(t, err); e.Reason != "canceled" || !errors.Is(err, context.Canceled) {
		t.Errorf("canceled: got %q (%v)", e.Reason, err)
	}
}

func TestTokenNeverLeaks(t *testing.T) {
	t.Parallel()
	fake := newFake(t)
	core, logs := observer.New(zap.DebugLevel)
	logger := zap.New(core)
	dm := dest(Dest{Panel: "messenger", Users: users})
	leaky := "leaky-" + token
	var outs []string
	for _, s := range []*Sender{
		newSender(t, fake.URL(), leaky, logger),
		newSender(t, strings.Replace(fake.URL(), "http://", "http://u:"+leaky+"@", 1)+"/nowhere", leaky, logger),
		newSender(t, "http://u:"+leaky+"@127.0.0.1:1", leaky, logger),
	} {
		_, err := s.Send(context.Background(), dm, "x")
		if err == nil {
			t.Fatal("want an error")
		}
		outs = append(outs, err.Error())
	}
	for _, entry := range logs.All() {
		fields, err := json.Marshal(entry.ContextMap())
		if err != nil {
			t.Fatal(err)
		}
		outs = append(outs, entry.Message, string(fields))
	}
	for _, o := range outs {
		if strings.Contains(o, leaky) {
			t.Errorf("token leaked: %s", o)
		}
	}
}

func TestNewValidates(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"ok", Config{URL: "https://cam.example.com:8080/api", Token: secret.New("t")}, true},
		{"no URL", Config{Token: secret.New("t")}, false},
		{"no token", Config{URL: "https://cam.example.com"}, false},
		{"bad scheme", Config{URL: "file:///etc", Token: secret.New("t")}, false},
	}
	for _, c := range cases {
		if _, err := New(c.cfg, nil, nil); (err == nil) != c.ok {
			t.Errorf("%s: got %v, want ok=%v", c.name, err, c.ok)
		}
	}
}
