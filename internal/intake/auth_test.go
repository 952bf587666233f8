package intake_test

import (
	"errors"
	"testing"

	"github.com/relayhq/relay/internal/intake"
)

func TestAuth(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, `
routes:
  secured:
    auth:
      bearer_token_env: OPS_TOKEN
      basic: {username: am, password_env: AM_PASS}
    targets: [{sender: chatwork, room: "111"}]
  open:
    targets: [{sender: chatwork, room: "222"}]
`, nil)
	cases := []struct {
		name       string
		route      string
		wantBearer string
		wantBasic  string
		wantCode   intake.Code // 0 = no error
	}{
		{name: "route with its own auth", route: "secured", wantBearer: "ops-token", wantBasic: "am-pass"},
		{name: "route without auth uses the global token", route: "open", wantBearer: "global-token"},
		{name: "direct target uses the global token", route: "", wantBearer: "global-token"},
		{name: "unknown route", route: "nope", wantCode: intake.NotFound},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			got, err := fx.p.Auth(c.route)
			if c.wantCode != 0 {
				var ie *intake.Error
				if !errors.As(err, &ie) || ie.Code != c.wantCode {
					t.Fatalf("Auth error = %v, want code %d", err, c.wantCode)
				}
				return
			}
			if err != nil {
				t.Fatalf("Auth: %v", err)
			}
			if b := got.Bearer.Reveal(); b != c.wantBearer {
				t.Errorf("bearer = %q, want %q", b, c.wantBearer)
			}
			if p := got.BasicPassword.Reveal(); p != c.wantBasic {
				t.Errorf("basic password = %q, want %q", p, c.wantBasic)
			}
		})
	}
}
