package dispatcher_test

import (
	"regexp"
	"testing"
	"time"

	"github.com/relayhq/relay/internal/dispatcher"
	"github.com/relayhq/relay/internal/senders/chatwork/chatworktest"
)

// alertID finds the alerts of storm in posts, folded in full or storm
// form.
var alertID = regexp.MustCompile(`FIRING alert \d{4}`)

// BenchmarkStorm measures a storm of 1,000 distinct alerts to one room,
// through the SQLite outbox and the fake Chatwork with the real limits:
// the time from the first webhook to the last post, and the posts used.
func BenchmarkStorm(b *testing.B) {
	const alerts = 1000
	var seconds, posts float64
	for range b.N {
		b.StopTimer()
		r := newRig(b, chatworktest.Options{}, nil) // the real clock: a real storm's seconds
		_, stop := r.run(b, chatworkPolicy(), dispatcher.Options{})
		b.StartTimer()

		start := time.Now()
		storm(b, r.store, "100", alerts)
		waitDrained(b, r.store, time.Minute)
		b.StopTimer()
		stop()

		got := r.fake.Posts("100")
		delivered := map[string]bool{}
		for _, p := range got {
			for _, id := range alertID.FindAllString(p.Body, -1) {
				delivered[id] = true
			}
		}
		if n := len(delivered); n != alerts {
			b.Fatalf("got %d alerts delivered, want %d", n, alerts)
		}
		if n := r.fake.Count(429); n != 0 {
			b.Fatalf("got %d answers 429, want none", n)
		}
		seconds += got[len(got)-1].At.Sub(start).Seconds()
		posts += float64(len(got))
	}
	b.ReportMetric(seconds/float64(b.N), "s/storm")
	b.ReportMetric(posts/float64(b.N), "posts/storm")
}
