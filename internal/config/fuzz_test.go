package config

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
)

// FuzzParse checks that the routes file loader never panics and that every
// failure is a located *Error.
func FuzzParse(f *testing.F) {
	example, err := os.ReadFile(examplePath)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(example)
	f.Add([]byte("routes:\n  ops:\n    targets: [{sender: chatwork, room: '1', matchers: ['a=~\"x\"']}]\n"))
	f.Add([]byte("a: &x [*x]\n"))
	f.Add([]byte("routes:\n  r:\n    targets:\n      - &t {sender: console, <<: {room: x}}\n      - <<: [*t, *t]\n"))
	f.Add([]byte("senders: {s: {type: chatwork, token_file: f, limits: {margin: 1s}}}\n"))
	// Merge keys nested eight deep, each merging ten copies of the level
	// below: before aliases were bounded, loading it took minutes.
	nested := "&a0 {sender: console, room: x}"
	for l := 1; l <= 8; l++ {
		nested = fmt.Sprintf("&a%d {<<: [%s%s]}", l, nested, strings.Repeat(fmt.Sprintf(", *a%d", l-1), 9))
	}
	f.Add([]byte("routes:\n  r:\n    targets:\n      - " + nested + "\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Parse("relay.yml", data, testKinds, exampleEnv.get, files{"f": "tok"}.read)
		if err != nil {
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("error %T is not a *config.Error: %v", err, err)
			}
			return
		}
		if _, err := build(validEnv(), file, nil); err != nil {
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("Build error %T is not a *config.Error: %v", err, err)
			}
		}
	})
}
