// Command baseline is the yardstick of relay's ingest benchmark: a bare
// net/http server that reads an Alertmanager webhook, decodes the same JSON
// into the same shape of data, and answers 202 with a JSON body, storing
// nothing. It shows what one machine can do when nothing is made durable,
// so that relay's figures can be read as a ratio to it.
//
//	baseline -listen 127.0.0.1:0
//
// It prints "listening ADDR" on stdout once it accepts connections.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// kv is a label or annotation set.
type kv map[string]string

// alert is one alert of an Alertmanager webhook (version 4).
type alert struct {
	Status       string    `json:"status"`
	Labels       kv        `json:"labels"`
	Annotations  kv        `json:"annotations"`
	StartsAt     time.Time `json:"startsAt"`
	EndsAt       time.Time `json:"endsAt"`
	GeneratorURL string    `json:"generatorURL"`
	Fingerprint  string    `json:"fingerprint"`
}

// webhook is an Alertmanager webhook payload (version 4).
type webhook struct {
	Version           string  `json:"version"`
	GroupKey          string  `json:"groupKey"`
	TruncatedAlerts   int     `json:"truncatedAlerts"`
	Status            string  `json:"status"`
	Receiver          string  `json:"receiver"`
	GroupLabels       kv      `json:"groupLabels"`
	CommonLabels      kv      `json:"commonLabels"`
	CommonAnnotations kv      `json:"commonAnnotations"`
	ExternalURL       string  `json:"externalURL"`
	Alerts            []alert `json:"alerts"`
}

// answer mirrors relay's 202 body.
type answer struct {
	ID        string `json:"id"`
	Messages  int    `json:"messages"`
	Duplicate bool   `json:"duplicate"`
}

// maxBody is relay's default RELAY_MAX_BODY_BYTES.
const maxBody = 1 << 20

// accept decodes the webhook and answers 202, as relay does after its
// commit; a payload that does not decode is answered 400.
func accept(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		http.Error(w, err.Error(), http.StatusRequestEntityTooLarge)
		return
	}
	var wh webhook
	if err := json.Unmarshal(body, &wh); err != nil || len(wh.Alerts) == 0 {
		http.Error(w, "malformed payload", http.StatusBadRequest)
		return
	}
	var id [16]byte
	_, _ = rand.Read(id[:])
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusAccepted)
	_ = json.NewEncoder(w).Encode(answer{ID: hex.EncodeToString(id[:]), Messages: 1})
}

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "listen address")
	flag.Parse()
	if err := run(*listen); err != nil {
		fmt.Fprintln(os.Stderr, "baseline:", err)
		os.Exit(1)
	}
}

// run serves until SIGINT or SIGTERM.
func run(listen string) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", listen, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/alertmanager/", accept)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	fmt.Printf("listening %s\n", ln.Addr())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return srv.Shutdown(sctx)
}
