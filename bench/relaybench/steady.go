package main

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
)

// steadyResult is what a steady run measured: single alerts to one room,
// one every Every, each from its 202 until it was in the room.
type steadyResult struct {
	Alerts   int
	Every    time.Duration
	P50, Max time.Duration
	Posts    int
	Got429   int
}

// runSteady posts n single alerts to one room of the strict fake
// Chatwork, one every `every`, and measures each one's latency from its
// 202 to the fake's receipt of the post that carries it.
func runSteady(ctx context.Context, relayBin, dir string, n int, every time.Duration) (steadyResult, error) {
	res := steadyResult{Alerts: n, Every: every}
	tb := &harnessTB{}
	defer tb.close()
	fake, relay, err := startWithFake(tb, relayBin, dir)
	if err != nil {
		return res, err
	}
	defer relay.stop()
	const room = "4444"
	client := newClient(1)
	defer client.CloseIdleConnections()
	var lat []time.Duration
	for i := range n {
		if i > 0 {
			select {
			case <-ctx.Done():
				return res, ctx.Err()
			case <-time.After(every):
			}
		}
		name := alertName("T", i)
		code, err := post(ctx, client, relay.URL+"/v1/alertmanager/chatwork/"+room, payload(name))
		answered := time.Now()
		if err != nil || code != http.StatusAccepted {
			return res, fmt.Errorf("steady: alert %d: status %d, %v", i, code, err)
		}
		var at time.Time
		found := waitFor(ctx, 30*time.Second, func() bool {
			for _, p := range fake.Posts(room) {
				if strings.Contains(p.Body, name) {
					at = p.At
					return true
				}
			}
			return false
		})
		if !found {
			return res, fmt.Errorf("steady: alert %d not in the room within 30s", i)
		}
		lat = append(lat, at.Sub(answered))
	}
	slices.Sort(lat)
	res.P50, res.Max = lat[len(lat)/2], lat[len(lat)-1]
	res.Posts = len(fake.Posts(room))
	res.Got429 = fake.Count(http.StatusTooManyRequests)
	return res, nil
}
