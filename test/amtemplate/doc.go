// Package amtemplate is the differential test of relay's templates against
// Alertmanager's, in a module of its own so that relay's module graph never
// holds Alertmanager's.
//
// Its tests build the relay binary from the enclosing module (go build -C
// ../..), exactly as a user builds it, and render every template of a
// corpus (testdata/corpus/<style>) on every payload (testdata/payloads and
// relay's own testdata/payloads/alertmanager) twice: through
// github.com/prometheus/alertmanager/template at the version go.mod pins,
// and through `relay render --raw`, the command a user runs to try a
// template. The two outputs must be the same bytes, or both must fail.
//
// With RELAY_TEST_ALERTMANAGER naming an Alertmanager binary, a further
// test captures a webhook from it and renders the corpus on that too;
// with -update it rewrites the captured fixture.
package amtemplate
