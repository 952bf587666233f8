package postgres

import (
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/relayhq/relay/internal/limiter"
	"github.com/relayhq/relay/internal/outbox"
)

// limits is what the shared log says about a claim's rules at now.
type limits struct {
	now  int64    // the database's clock, read under the keys' locks
	keys []string // the rules' distinct keys
	// free is the least number of free slots over the rules; wait, when
	// free is 0, how long until all rules could be free.
	free int
	wait time.Duration
	// pace is how long a post that is not full must still wait under the
	// paced rules, busy whether any paced rule's window holds a slot (see
	// limiter.Log.Pace).
	pace time.Duration
	busy bool
}

// readLimits is limiter.Log.Free, Take's wait and Pace on the shared log:
// under the locks of the rules' keys, held until the transaction ends, it
// prunes and reads their pauses and slots. takeSlot then takes the slot.
//
// The clock is read again once the keys are locked. A time read before
// waiting for the locks could be older than a slot another replica took
// meanwhile, or than the "now" with which it pruned the log; a slot
// recorded in the past would then leave the window before the post it
// stands for, and a window could hold more than Limit posts.
func (s *Store) readLimits(ctx context.Context, tx pgx.Tx, now int64, req outbox.ClaimRequest) (limits, error) {
	if len(req.Rules) == 0 {
		return limits{now: now, free: math.MaxInt}, nil
	}
	lim := limits{}
	horizon := int64(0) // the widest window, in ms, plus the margin
	for _, r := range req.Rules {
		if !slices.Contains(lim.keys, r.Key) {
			lim.keys = append(lim.keys, r.Key)
		}
		horizon = max(horizon, durationMillis(r.Window+req.Margin))
	}
	if err := s.lockAll(ctx, tx, "limit", lim.keys); err != nil {
		return limits{}, err
	}
	var err error
	if now, err = s.clock(ctx, tx); err != nil {
		return limits{}, err
	}
	lim.now = now
	// Slots that left the widest window count for no rule: drop them.
	if _, err := tx.Exec(ctx, `DELETE FROM limiter_slots WHERE key = ANY($1) AND at <= $2`,
		lim.keys, now-horizon); err != nil {
		return limits{}, fmt.Errorf("prune limiter slots: %w", err)
	}
	slots, paused, err := readLog(ctx, tx, lim.keys)
	if err != nil {
		return limits{}, err
	}
	lim.free = math.MaxInt
	var waitMs, paceMs int64
	for _, r := range req.Rules {
		window := durationMillis(r.Window + req.Margin)
		if until := paused[r.Key]; until > now {
			waitMs = max(waitMs, until-now)
			lim.free = 0
		}
		if r.Limit <= 0 {
			waitMs = max(waitMs, window)
			lim.free = 0
			continue
		}
		// Slots in (now - window, now], and any in the future (a clock
		// that stepped back): they still count.
		times := slots[r.Key]
		i, _ := slices.BinarySearch(times, now-window+1)
		times = times[i:]
		lim.free = min(lim.free, max(r.Limit-len(times), 0))
		if over := len(times) - r.Limit; over >= 0 {
			// The (over+1)-th oldest slot must leave the window.
			waitMs = max(waitMs, times[over]+window-now)
		}
		if r.Paced && len(times) > 0 {
			lim.busy = true
			due := times[len(times)-1] + durationMillis(limiter.Spacing(len(times), r.Limit, r.Window+req.Margin))
			paceMs = max(paceMs, due-now)
		}
	}
	lim.wait = time.Duration(waitMs) * time.Millisecond
	lim.pace = time.Duration(paceMs) * time.Millisecond
	return lim, nil
}

// takeSlot takes one slot per key of lim at lim.now.
func takeSlot(ctx context.Context, tx pgx.Tx, lim limits) error {
	if len(lim.keys) == 0 {
		return nil
	}
	if _, err := tx.Exec(ctx, `INSERT INTO limiter_slots (key, at) SELECT unnest($1::text[]), $2`, lim.keys, lim.now); err != nil {
		return fmt.Errorf("take limiter slot: %w", err)
	}
	return nil
}

// readLog returns the slot times (ascending) and pause ends of keys.
func readLog(ctx context.Context, tx pgx.Tx, keys []string) (slots map[string][]int64, paused map[string]int64, err error) {
	slots = map[string][]int64{}
	rows, err := tx.Query(ctx, `SELECT key, at FROM limiter_slots WHERE key = ANY($1) ORDER BY key, at`, keys)
	if err != nil {
		return nil, nil, fmt.Errorf("read limiter slots: %w", err)
	}
	var (
		key string
		at  int64
	)
	_, err = pgx.ForEachRow(rows, []any{&key, &at}, func() error {
		slots[key] = append(slots[key], at)
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("read limiter slots: %w", err)
	}
	paused = map[string]int64{}
	rows, err = tx.Query(ctx, `SELECT key, until FROM limiter_pauses WHERE key = ANY($1)`, keys)
	if err != nil {
		return nil, nil, fmt.Errorf("read limiter pauses: %w", err)
	}
	_, err = pgx.ForEachRow(rows, []any{&key, &at}, func() error {
		paused[key] = at
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("read limiter pauses: %w", err)
	}
	return slots, paused, nil
}

// Pause holds a limiter key shut until `until`, for every replica. A later
// pause wins; an earlier one never shortens a pause in force.
func (s *Store) Pause(ctx context.Context, key string, until time.Time) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO limiter_pauses (key, until) VALUES ($1, $2)
		ON CONFLICT (key) DO UPDATE SET until = GREATEST(limiter_pauses.until, excluded.until)`,
		key, millis(until))
	if err != nil {
		return fmt.Errorf("pause %s: %w", key, err)
	}
	return nil
}
