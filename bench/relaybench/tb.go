package main

import (
	"fmt"
	"testing"
)

// harnessTB is the small testing.TB stand-in that lets the harness start
// the strict fake Chatwork (chatworktest.NewServer) outside a test. It
// implements what the fake calls; any other method panics on the nil
// embedded interface, which would show at once in a run.
type harnessTB struct {
	testing.TB
	cleanups []func()
}

// Helper does nothing outside a test.
func (t *harnessTB) Helper() {}

// Cleanup registers f for close.
func (t *harnessTB) Cleanup(f func()) { t.cleanups = append(t.cleanups, f) }

// Fatal panics: a fake that cannot start ends the run.
func (t *harnessTB) Fatal(args ...any) { panic(fmt.Sprint(args...)) }

// Fatalf panics: a fake that cannot start ends the run.
func (t *harnessTB) Fatalf(format string, args ...any) { panic(fmt.Sprintf(format, args...)) }

// close runs the cleanups, last first.
func (t *harnessTB) close() {
	for i := len(t.cleanups) - 1; i >= 0; i-- {
		t.cleanups[i]()
	}
	t.cleanups = nil
}
