package main

import (
	"fmt"
	"io"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// newLogger builds the zap logger for RELAY_LOG_LEVEL and RELAY_LOG_FORMAT.
func newLogger(level, format string, w io.Writer) (*zap.Logger, error) {
	lvl, err := zapcore.ParseLevel(level)
	if err != nil {
		return nil, fmt.Errorf("RELAY_LOG_LEVEL: %w", err)
	}
	ec := zap.NewProductionEncoderConfig()
	ec.TimeKey = "ts"
	ec.EncodeTime = zapcore.ISO8601TimeEncoder
	var enc zapcore.Encoder
	switch format {
	case "json", "":
		enc = zapcore.NewJSONEncoder(ec)
	case "console", "text", "logfmt":
		ec.EncodeLevel = zapcore.CapitalLevelEncoder
		enc = zapcore.NewConsoleEncoder(ec)
	default:
		return nil, fmt.Errorf("RELAY_LOG_FORMAT: want json or console, got %q", format)
	}
	out := zapcore.Lock(zapcore.AddSync(w))
	// Below warn, every entry is written (a request, a delivery: bounded by
	// the traffic and the rooms' limits). From warn up, entries repeating
	// the same message are sampled, so that a failure repeated by clients
	// or upstreams cannot flood the log: per second, the first
	// sampleFirst of each message, then one in sampleThereafter.
	below := zapcore.NewCore(enc, out, zap.LevelEnablerFunc(func(l zapcore.Level) bool {
		return lvl.Enabled(l) && l < zapcore.WarnLevel
	}))
	above := zapcore.NewSamplerWithOptions(zapcore.NewCore(enc.Clone(), out, zap.LevelEnablerFunc(func(l zapcore.Level) bool {
		return lvl.Enabled(l) && l >= zapcore.WarnLevel
	})), time.Second, sampleFirst, sampleThereafter)
	return zap.New(zapcore.NewTee(below, above), zap.ErrorOutput(out)), nil
}

// Sampling of repeated warnings and errors, see newLogger.
const (
	sampleFirst      = 10
	sampleThereafter = 100
)

func nopLogger() *zap.Logger { return zap.NewNop() }
