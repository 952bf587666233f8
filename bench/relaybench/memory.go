package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// memoryResult is the relay's memory idle and with a full outbox.
type memoryResult struct {
	Idle     memory
	Queued   int // messages accepted and left undelivered
	Loaded   memory
	Enqueue  loadResult
	Upstream string
	Scrape   time.Duration // one GET /metrics with the full outbox
}

// closedURL returns a Chatwork base URL on a local port nobody listens on,
// so that every post fails with a transport error and stays in the outbox.
func closedURL() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("find a closed port: %w", err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return "http://" + addr + "/v2", nil
}

// runMemory reads the relay's RSS idle, then enqueues n distinct webhooks
// over HTTP while its upstream is down (spread over rooms lanes) and reads
// it again once the dispatcher has been retrying for a while.
func runMemory(ctx context.Context, relayBin, dir string, n, rooms, clients int) (memoryResult, error) {
	up, err := closedURL()
	if err != nil {
		return memoryResult{}, err
	}
	relay, err := startRelay(relayBin, map[string]string{
		"RELAY_STORE":            "sqlite://" + dir + "/memory.db",
		"RELAY_CHATWORK_TOKEN":   benchToken,
		"RELAY_CHATWORK_API_URL": up,
	})
	if err != nil {
		return memoryResult{}, err
	}
	defer relay.stop()
	res := memoryResult{Upstream: "closed port"}
	time.Sleep(2 * time.Second)
	if res.Idle, err = relay.readMemory(); err != nil {
		return res, err
	}
	per := n / rooms
	for r := range rooms {
		l := runLoad(ctx, loadSpec{URL: fmt.Sprintf("%s/v1/alertmanager/chatwork/%d", relay.URL, 1000+r),
			Run: fmt.Sprintf("M%d", r), Clients: clients, Count: per})
		res.Enqueue.Requests += l.Requests
		res.Enqueue.Failed += l.Failed
		res.Enqueue.Elapsed += l.Elapsed
		res.Enqueue.P99 = max(res.Enqueue.P99, l.P99)
		if l.Failed > 0 && res.Enqueue.FirstErr == "" {
			res.Enqueue.FirstErr = l.FirstErr
		}
	}
	res.Queued = res.Enqueue.Requests
	time.Sleep(5 * time.Second)
	if res.Loaded, err = relay.readMemory(); err != nil {
		return res, err
	}
	res.Scrape, err = timeGet(ctx, relay.URL+"/metrics")
	return res, err
}

// timeGet times one GET of url, answer read in full.
func timeGet(ctx context.Context, url string) (time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	t0 := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, fmt.Errorf("get %s: %w", url, err)
	}
	_, err = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("get %s: status %d", url, resp.StatusCode)
	}
	return time.Since(t0), err
}
