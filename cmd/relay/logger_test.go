package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestRepeatedWarningsAreSampledInfoIsNot(t *testing.T) {
	var buf bytes.Buffer
	logger, err := newLogger("info", "json", &buf)
	if err != nil {
		t.Fatal(err)
	}
	for range 1000 {
		logger.Warn("template failed; falling back to the built-in default")
		logger.Info("request")
	}
	logger.Error("another failure")
	warns := strings.Count(buf.String(), "template failed")
	infos := strings.Count(buf.String(), `"msg":"request"`)
	if warns < sampleFirst || warns > sampleFirst+1000/sampleThereafter {
		t.Errorf("got %d repeated warnings in the log, want between %d and %d", warns, sampleFirst, sampleFirst+1000/sampleThereafter)
	}
	if infos != 1000 {
		t.Errorf("got %d info lines, want all 1000", infos)
	}
	if !strings.Contains(buf.String(), "another failure") {
		t.Error("a different error after the repeated warnings was dropped")
	}
}
