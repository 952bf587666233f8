package handlers

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/relayhq/relay/internal/auth"
	"github.com/relayhq/relay/internal/intake"
)

// benchPayload is an Alertmanager webhook the size of relaybench's (2.3 kB).
var benchPayload = bytes.Repeat([]byte(`{"receiver":"relay-oncall","status":"firing","alerts":[]}`+"\n"), 40)

// benchPipeline accepts every webhook at once, so that BenchmarkWebhook
// measures the HTTP layer alone.
type benchPipeline struct{}

func (benchPipeline) Accept(context.Context, intake.Request) (intake.Result, error) {
	return intake.Result{ID: "0123456789abcdef01234567", Messages: 1}, nil
}

func (benchPipeline) Preview(context.Context, intake.Request) ([]intake.Rendered, error) {
	return nil, nil
}

func (benchPipeline) Auth(string) (auth.Config, error) { return auth.Config{}, nil }

// discardWriter is a ResponseWriter that keeps nothing but its header map.
type discardWriter struct {
	h      http.Header
	status int
}

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *discardWriter) WriteHeader(status int)      { w.status = status }

// BenchmarkWebhook serves the webhook the ingest benchmark sends
// (/v1/alertmanager/chatwork/100) through the whole router, with a JSON
// access log to io.Discard, and a pipeline that does nothing.
//
//	go test -run '^$' -bench BenchmarkWebhook -benchmem ./internal/handlers/
func BenchmarkWebhook(b *testing.B) {
	logger := zap.New(zapcore.NewCore(zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig()),
		zapcore.AddSync(io.Discard), zap.InfoLevel))
	h, err := NewRouter(Deps{
		Pipeline:    benchPipeline{},
		Logger:      logger,
		Registerer:  prometheus.NewRegistry(),
		Now:         func() time.Time { return testNow },
		DirectKinds: testKinds.Direct(),
	})
	if err != nil {
		b.Fatal(err)
	}
	u, err := url.ParseRequestURI("/v1/alertmanager/chatwork/100")
	if err != nil {
		b.Fatal(err)
	}
	tmpl := http.Request{
		Method: http.MethodPost, URL: u, RequestURI: u.String(),
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Host: "relay:8080", RemoteAddr: "127.0.0.1:40000",
		ContentLength: int64(len(benchPayload)),
	}
	tmpl = *tmpl.WithContext(context.Background())
	w := &discardWriter{}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		r := tmpl
		r.Header = http.Header{
			"Content-Type": {"application/json"},
			"User-Agent":   {"Go-http-client/1.1"},
		}
		r.Body = io.NopCloser(bytes.NewReader(benchPayload))
		w.h = http.Header{}
		w.status = 0
		h.ServeHTTP(w, &r)
		if w.status != http.StatusAccepted {
			b.Fatalf("got status %d, want 202", w.status)
		}
	}
}
