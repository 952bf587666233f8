// Package secret holds credentials so that they cannot be printed by
// accident: a Secret formats as <secret> with every verb, in JSON, YAML and
// zap fields. Only Reveal gives the value, at the one place it is sent.
package secret

import "fmt"

const redacted = "<secret>"

// Secret is a credential: a token, an HMAC key, a password.
type Secret struct {
	v string
}

// New wraps a credential.
func New(v string) Secret { return Secret{v: v} }

// Reveal returns the credential. Call it only where it goes on the wire.
func (s Secret) Reveal() string { return s.v }

// IsSet reports whether the secret holds a non-empty value.
func (s Secret) IsSet() bool { return s.v != "" }

// String returns "<secret>" (or "" when unset).
func (s Secret) String() string {
	if s.v == "" {
		return ""
	}
	return redacted
}

// GoString keeps %#v from printing the value.
func (s Secret) GoString() string { return `secret.Secret("` + s.String() + `")` }

// Format makes every fmt verb print the redacted form.
func (s Secret) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(s.String())) }

// MarshalJSON writes the redacted form.
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + s.String() + `"`), nil }

// MarshalText writes the redacted form (YAML, envconfig dumps, zap).
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText stores the text as the credential (envconfig, YAML).
func (s *Secret) UnmarshalText(b []byte) error {
	s.v = string(b)
	return nil
}

// Equal reports whether two secrets hold the same value.
func (s Secret) Equal(o Secret) bool { return s.v == o.v }
