package dispatcher_test

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/relayhq/relay/internal/delivery"
	"github.com/relayhq/relay/internal/dispatcher"
	"github.com/relayhq/relay/internal/outbox"
	"github.com/relayhq/relay/internal/senders/chatwork"
	"github.com/relayhq/relay/internal/senders/chatwork/chatworktest"
)

// arrival is n alerts, numbered from `from`, received at `at` after the
// start of a schedule test.
type arrival struct {
	at      time.Duration
	from, n int
}

// every returns n arrivals of size alerts each, step apart from at.
func every(at, step time.Duration, n, size, from int) []arrival {
	out := make([]arrival, n)
	for i := range out {
		out[i] = arrival{at: at + time.Duration(i)*step, from: from + i*size, n: size}
	}
	return out
}

// alertMessage is alert i to room as relay stores it: a full Chatwork
// message of about 800 characters, its one-line form and its tally.
func alertMessage(room string, i int) delivery.Message {
	name := fmt.Sprintf("Alert%05d", i)
	return delivery.Message{
		Dest:           delivery.Destination{Sender: "chatwork", Address: "room/" + room},
		Body:           "[info][title][FIRING:1] " + name + " (critical)[/title]" + strings.Repeat("disk almost full on /var/lib ", 26) + "[/info]",
		Line:           "[FIRING:1] " + name + " (critical) service=db: disk almost full on /var/lib",
		Tally:          []delivery.Count{{Status: "firing", Name: name, Severity: "critical", N: 1}},
		NotificationID: fmt.Sprintf("n%05d", i),
	}
}

// feed enqueues the arrivals, one batch each (a webhook's messages carry
// their own notification ids), each when the fake
// clock reaches its time: a goroutine waits on a timer of the clock, so
// that Drive moves time to the next arrival when the dispatcher is idle.
// It returns how many arrivals are still to come.
func (r *rig) feed(tb testing.TB, room string, arrivals []arrival) (pending func() int) {
	var left atomic.Int64
	left.Store(int64(len(arrivals)))
	start := r.clock.Now()
	go func() {
		for _, a := range arrivals {
			t := r.clock.NewTimer(start.Add(a.at).Sub(r.clock.Now()))
			<-t.C()
			b := outbox.Batch{NotificationID: fmt.Sprintf("arrival-%d", a.from)}
			for i := a.from; i < a.from+a.n; i++ {
				b.Messages = append(b.Messages, alertMessage(room, i))
			}
			if _, err := r.store.Enqueue(context.Background(), b); err != nil {
				tb.Errorf("enqueue: %v", err)
			}
			left.Add(-1)
		}
	}()
	return func() int { return int(left.Load()) }
}

// runSchedule feeds the arrivals to one room through a dispatcher with
// Chatwork's real pacing on the fake clock until every alert is
// delivered, and returns the posts, their times since the start, and
// per alert when it arrived and when it was in the room.
func runSchedule(t *testing.T, arrivals []arrival) (posts []chatworktest.Post, arrived, delivered map[int]time.Duration, storms float64) {
	t.Helper()
	const room = "77"
	r := newRig(t, chatworktest.Options{}, newFakeClock())
	start := r.clock.Now()
	p := chatworkPolicy()
	p.Headed = chatwork.Kind{}.Notation().Headed
	reg, stop := r.run(t, p, dispatcher.Options{PollInterval: time.Minute})
	pending := r.feed(t, room, arrivals)
	// Idle: the supervisor waits on its poll, the feeder on its next
	// arrival, and a lane with work on its wait.
	sleepers := func() int {
		n := 1 + min(pending(), 1)
		if depth(t, r.store) > 0 {
			n++
		}
		return n
	}
	dispatcher.Drive(t, r.clock, "every alert in the room", sleepers, func() bool {
		return pending() == 0 && depth(t, r.store) == 0
	})
	stop()

	arrived, delivered = map[int]time.Duration{}, map[int]time.Duration{}
	for _, a := range arrivals {
		for i := a.from; i < a.from+a.n; i++ {
			arrived[i] = a.at
		}
	}
	posts = r.fake.Posts(room)
	id := regexp.MustCompile(`Alert(\d{5})`)
	for n, post := range posts {
		t.Logf("post %2d at %8v: %6d characters, storm %v", n+1, post.At.Sub(start), len(post.Body), strings.Contains(post.Body, "Alert storm"))
		for _, m := range id.FindAllStringSubmatch(post.Body, -1) {
			i, _ := strconv.Atoi(m[1])
			if _, ok := delivered[i]; !ok {
				delivered[i] = post.At.Sub(start)
			}
		}
	}
	if len(delivered) != len(arrived) {
		t.Errorf("got %d alerts in the room, want %d", len(delivered), len(arrived))
	}
	if n := r.fake.Count(http.StatusTooManyRequests); n != 0 {
		t.Errorf("got %d answers 429, want none", n)
	}
	if n := r.fake.MaxInWindow(room, 10*time.Second); n > 10 {
		t.Errorf("got %d posts in one 10 s window, want at most 10", n)
	}
	return posts, arrived, delivered, total(t, reg, "relay_storm_posts_total")
}

func TestScheduleOfABurst(t *testing.T) {
	t.Parallel()
	// 1,000 alerts in 0.3 s: 1,000 full messages would need 13 posts.
	posts, _, delivered, storms := runSchedule(t, every(0, 3*time.Millisecond, 100, 10, 0))
	if delivered[0] != 0 {
		t.Errorf("the first alert, to an idle room, was in the room after %v, want at once", delivered[0])
	}
	last := time.Duration(0)
	for _, at := range delivered {
		last = max(last, at)
	}
	if last > 2*time.Second {
		t.Errorf("the last alert was in the room after %v, want within 2 s", last)
	}
	if len(posts) > 4 {
		t.Errorf("got %d posts, want the burst folded into at most 4", len(posts))
	}
	if !strings.Contains(posts[1].Body, "[info][title]Alert storm: ") {
		t.Errorf("the second post is not a storm post: %.120q", posts[1].Body)
	}
	if storms != 1 {
		t.Errorf("relay_storm_posts_total = %v, want 1", storms)
	}
}

func TestScheduleOfATrickle(t *testing.T) {
	t.Parallel()
	// One alert every 2 s: every one goes the moment it arrives.
	_, arrived, delivered, storms := runSchedule(t, every(0, 2*time.Second, 12, 1, 0))
	if storms != 0 {
		t.Errorf("relay_storm_posts_total = %v for a trickle, want 0", storms)
	}
	for i, at := range arrived {
		if delivered[i] != at {
			t.Errorf("alert %d arrived at %v and was in the room at %v, want at once", i, at, delivered[i])
		}
	}
}

func TestScheduleOfAMix(t *testing.T) {
	t.Parallel()
	// A trickle, a burst of 1,500 into the busy window, and the trickle
	// again after it.
	arrivals := every(0, 3*time.Second, 3, 1, 0)                                          // 0 s, 3 s, 6 s
	arrivals = append(arrivals, every(7*time.Second, 4*time.Millisecond, 100, 15, 10)...) // 7 s to 7.4 s
	arrivals = append(arrivals, every(25*time.Second, 3*time.Second, 3, 1, 5000)...)      // 25 s, 28 s, 31 s
	_, arrived, delivered, _ := runSchedule(t, arrivals)
	for _, i := range []int{0, 1, 2, 5000, 5001, 5002} {
		if delivered[i] != arrived[i] {
			t.Errorf("trickle alert %d arrived at %v and was in the room at %v, want at once", i, arrived[i], delivered[i])
		}
	}
	last := time.Duration(0)
	for i, at := range delivered {
		if i >= 10 && i < 1510 {
			last = max(last, at)
		}
	}
	if last > 9*time.Second {
		t.Errorf("the burst's last alert was in the room %v after the start, want within 2 s of its start", last)
	}
}
