package dispatcher

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/relayhq/relay/internal/delivery"
)

// stormHeadingLen is the room, in delivery.Len units, that a storm post
// keeps for its heading (outbox.ClaimRequest.HeadingLen); stormBody cuts
// the heading to fit it.
const stormHeadingLen = 500

// stormNames is how many alert names a storm heading lists by count, and
// stormNameLen how long each may be.
const (
	stormNames   = 5
	stormNameLen = 60
)

// stormBody is the body of a storm post: a heading that sums up the
// messages it carries (their alerts by status, severity and name, when they
// were received, how many more follow), then one line per message, their
// one-line forms in lane order. The parts of one split message share one
// line, written once. The body fits the policy's MaxChars when the lines
// fit in MaxChars less stormHeadingLen, as the claim packed them.
func stormBody(p Policy, msgs []delivery.Message, behind int) string {
	lines := make([]string, 0, len(msgs))
	for i, m := range msgs {
		if !laterPart(msgs, i) {
			lines = append(lines, m.OneLine())
		}
	}
	title, summary := stormHeading(msgs, behind)
	headed := p.Headed
	if headed == nil {
		headed = func(h, b string) string { return h + "\n" + b }
	}
	// The frame and the newline between the summary and the lines.
	room := stormHeadingLen - delivery.Len(headed("", "")) - 1
	title = delivery.Truncate(title, room)
	summary = delivery.Truncate(summary, max(room-delivery.Len(title), 0))
	return headed(title, summary+"\n"+strings.Join(lines, "\n"))
}

// laterPart reports whether msgs[i] is a later part of the message split
// in parts before it: the same notification and line.
func laterPart(msgs []delivery.Message, i int) bool {
	return i > 0 && msgs[i].Line != "" && msgs[i].Line == msgs[i-1].Line &&
		msgs[i].NotificationID == msgs[i-1].NotificationID
}

// stormHeading returns the title and summary lines of a storm post.
func stormHeading(msgs []delivery.Message, behind int) (title, summary string) {
	byStatus, bySeverity, byName := map[string]int{}, map[string]int{}, map[string]int{}
	alerts := 0
	first, last := msgs[0].CreatedAt, msgs[0].CreatedAt
	for i, m := range msgs {
		first, last = minTime(first, m.CreatedAt), maxTime(last, m.CreatedAt)
		if laterPart(msgs, i) {
			continue // its first part counted the alerts
		}
		for _, c := range m.Tally {
			alerts += c.N
			byStatus[cmp.Or(c.Status, "unknown")] += c.N
			bySeverity[cmp.Or(c.Severity, "none")] += c.N
			byName[cmp.Or(c.Name, "unnamed")] += c.N
		}
	}
	notifications := 0
	for i, m := range msgs {
		if i == 0 || m.NotificationID != msgs[i-1].NotificationID {
			notifications++
		}
	}
	title = "Alert storm: " + count(notifications, "notification") + " in this post"
	if behind > 0 {
		title += ", " + thousands(behind) + " more follow"
	}
	var b strings.Builder
	if alerts > 0 {
		fmt.Fprintf(&b, "%s: %s. Severity: %s.\n", count(alerts, "alert"), tallies(byStatus, 0), tallies(bySeverity, 0))
		fmt.Fprintf(&b, "Names: %s.\n", tallies(byName, stormNames))
	}
	const layout = "2006-01-02 15:04:05"
	span := first.UTC().Format(layout)
	if !last.Equal(first) {
		span += " to " + last.UTC().Format(layout[11:])
	}
	fmt.Fprintf(&b, "Received %s UTC.", span)
	return title, b.String()
}

// tallies writes counts as "a 3, b 2", largest first, then by name; with
// most > 0, the first most of them and how many names are left out.
func tallies(counts map[string]int, most int) string {
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int {
		return cmp.Or(cmp.Compare(counts[b], counts[a]), cmp.Compare(a, b))
	})
	rest := 0
	if most > 0 && len(keys) > most {
		rest = len(keys) - most
		keys = keys[:most]
	}
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = delivery.Truncate(k, stormNameLen) + " " + thousands(counts[k])
	}
	s := strings.Join(parts, ", ")
	if rest > 0 {
		s += " and " + count(rest, "other name")
	}
	return s
}

// count writes "1 alert", "1,200 alerts".
func count(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return thousands(n) + " " + noun + "s"
}

// thousands writes n with commas between groups of three digits.
func thousands(n int) string {
	s := strconv.Itoa(n)
	if n < 0 {
		return "-" + thousands(-n)
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
