package chatwork

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/relayhq/relay/internal/senders/chatwork/chatworktest"
)

// meCalls counts the GET /me requests the fake received.
func meCalls(f *chatworktest.Server) int {
	n := 0
	for _, r := range f.Requests() {
		if r.Kind == chatworktest.KindMe {
			n++
		}
	}
	return n
}

// TestReadyAsksMeOnce: a good token is checked with one GET /me, whose
// account then serves every reply; a refused one fails Ready, naming the
// sender and never the token, without asking again within meRetry.
func TestReadyAsksMeOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	fake := chatworktest.NewServer(t, chatworktest.Options{Tokens: []string{token}, AccountID: 4242})
	s := newSender(t, fake.URL(), nil)
	for range 3 {
		if err := s.Ready(ctx); err != nil {
			t.Fatalf("Ready: %v", err)
		}
	}
	if a, err := s.account(ctx); err != nil || a.ID != "4242" {
		t.Errorf("account = %+v, %v; want 4242", a, err)
	}
	if n := meCalls(fake); n != 1 {
		t.Errorf("GET /me asked %d times, want once", n)
	}

	other := chatworktest.NewServer(t, chatworktest.Options{Tokens: []string{"another-token"}})
	bad := newSender(t, other.URL(), nil)
	err := bad.Ready(ctx)
	if err == nil || !strings.Contains(err.Error(), `chatwork sender "chatwork": Chatwork refuses the token (401`) {
		t.Fatalf("Ready with a refused token = %v, want it to say so", err)
	}
	if strings.Contains(err.Error(), token) {
		t.Errorf("error %q holds the token", err)
	}
	if err := bad.Ready(ctx); err == nil || meCalls(other) != 1 {
		t.Errorf("second Ready = %v after %d GET /me, want the error again from memory", err, meCalls(other))
	}
	bad.now = func() time.Time { return now.Add(meRetry) }
	if err := bad.Ready(ctx); err == nil || meCalls(other) != 2 {
		t.Errorf("Ready after meRetry = %v after %d GET /me, want a second ask, refused", err, meCalls(other))
	}
}

// TestReadyFailsAfterA401: a token revoked after its account was known
// fails Ready from the next refused request on, and a success clears it.
func TestReadyFailsAfterA401(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	fake := chatworktest.NewServer(t, chatworktest.Options{Tokens: []string{token}})
	s := newSender(t, fake.URL(), nil)
	if err := s.Ready(ctx); err != nil {
		t.Fatalf("Ready: %v", err)
	}
	fake.FailNext(1, 401)
	if _, err := s.Send(ctx, room("42"), "hi"); !BadToken(err) {
		t.Fatalf("Send = %v, want 401", err)
	}
	if err := s.Ready(ctx); err == nil {
		t.Error("Ready after a 401 = nil, want the refused token")
	}
	if _, err := s.Send(ctx, room("42"), "hi"); err != nil {
		t.Fatalf("Send: %v", err)
	}
	if err := s.Ready(ctx); err != nil {
		t.Errorf("Ready after a success = %v, want nil", err)
	}
	if n := meCalls(fake); n != 1 {
		t.Errorf("GET /me asked %d times, want once", n)
	}
}

// TestReadyIgnoresAnUnreachableChatwork: an outage is no readiness failure.
func TestReadyIgnoresAnUnreachableChatwork(t *testing.T) {
	t.Parallel()
	fake := chatworktest.NewServer(t, chatworktest.Options{Tokens: []string{token}})
	fake.SetDown(true)
	if err := newSender(t, fake.URL(), nil).Ready(context.Background()); err != nil {
		t.Errorf("Ready while Chatwork is down = %v, want nil", err)
	}
}
