// Package testenv finds the external programs and services some tests need
// (PostgreSQL, the Alertmanager binary) from the environment. Without them
// such tests skip, except under CI (RELAY_TEST_REQUIRE_ALL=1), where a skip
// would hide a missing dependency and fails the test instead.
package testenv

import (
	"os"
	"testing"
)

// Environment variables the tests read.
const (
	// PostgresURL is a connection URL of a PostgreSQL database the tests may
	// create tables in, e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable.
	PostgresURL = "RELAY_TEST_POSTGRES_URL"
	// Alertmanager is the path of an Alertmanager binary.
	Alertmanager = "RELAY_TEST_ALERTMANAGER"
	// RequireAll turns every skip for a missing dependency into a failure.
	RequireAll = "RELAY_TEST_REQUIRE_ALL"
)

// Lookup returns the value of the environment variable name, or skips the
// test when it is unset (fails it when RELAY_TEST_REQUIRE_ALL is set).
func Lookup(t testing.TB, name string) string {
	t.Helper()
	v := os.Getenv(name)
	if v != "" {
		return v
	}
	if os.Getenv(RequireAll) != "" {
		t.Fatalf("%s is not set, and %s forbids skipping this test", name, RequireAll)
	}
	t.Skipf("%s is not set; skipping", name)
	return ""
}
