package chatwork

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"
)

// meRetry is how long after a GET /me that could not be answered (Chatwork
// unreachable) Ready and replies wait before asking again: /me spends the
// token's budget like any request.
const meRetry = time.Minute

// tokenState is what the Sender knows of its token: the account it
// belongs to, once GET /me told it, and whether Chatwork's last answer
// refused it.
type tokenState struct {
	mu      sync.Mutex
	account Account
	asked   time.Time // the last GET /me that failed
	refused bool      // the last answer was 401
}

// noteStatus remembers whether an answer refused the token: 401 does, any
// 2xx clears it.
func (t *tokenState) noteStatus(status int) {
	if status != http.StatusUnauthorized && (status < 200 || status >= 300) {
		return
	}
	t.mu.Lock()
	t.refused = status == http.StatusUnauthorized
	t.mu.Unlock()
}

// account returns the token's account, from GET /me the first time it
// succeeds and from memory after: the account of a token never changes.
func (s *Sender) account(ctx context.Context) (Account, error) {
	s.tok.mu.Lock()
	a := s.tok.account
	s.tok.mu.Unlock()
	if a.ID != "" {
		return a, nil
	}
	a, err := s.Me(ctx)
	s.tok.mu.Lock()
	defer s.tok.mu.Unlock()
	if err != nil {
		s.tok.asked = s.now()
		return Account{}, err
	}
	s.tok.account = a
	return a, nil
}

// Ready reports whether the token works, for /readyz and the check at
// start: an error once Chatwork refused it (401), on GET /me or on any
// other request, until a request succeeds again. It asks GET /me only
// while the account is not known, at most once per meRetry after a
// failure; a Chatwork that cannot be reached is no error here (the outbox
// keeps what comes meanwhile).
func (s *Sender) Ready(ctx context.Context) error {
	s.tok.mu.Lock()
	refused, known, asked := s.tok.refused, s.tok.account.ID != "", s.tok.asked
	s.tok.mu.Unlock()
	if known || (!asked.IsZero() && s.now().Sub(asked) < meRetry) {
		if refused {
			return s.badToken()
		}
		return nil
	}
	if _, err := s.account(ctx); BadToken(err) {
		return s.badToken()
	}
	return nil
}

func (s *Sender) badToken() error {
	if s.name == "" {
		return fmt.Errorf("chatwork: %w", errBadToken)
	}
	return fmt.Errorf("chatwork sender %q: %w", s.name, errBadToken)
}
