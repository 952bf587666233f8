package postgres

import (
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/relayhq/relay/internal/outbox"
)

// takeSlot is limiter.Log.Take and Free on the shared log: under the locks
// of the rules' keys it reads their pauses and slots, and if every rule has
// a free slot it takes one per key. It returns the time of the slot, the
// free slots before this one (the least over the rules) and, when it took
// nothing, how long until all rules could be free.
//
// The clock is read again once the keys are locked. A time read before
// waiting for the locks could be older than a slot another replica took
// meanwhile, or than the "now" with which it pruned the log; a slot
// recorded in the past would then leave the window before the post it
// stands for, and a window could hold more than Limit posts.
func (s *Store) takeSlot(ctx context.Context, tx pgx.Tx, now int64, req outbox.ClaimRequest) (at int64, free int, wait time.Duration, err error) {
	if len(req.Rules) == 0 {
		return now, math.MaxInt, 0, nil
	}
	keys := make([]string, 0, len(req.Rules))
	horizon := int64(0) // the widest window, in ms, plus the margin
	for _, r := range req.Rules {
		if !slices.Contains(keys, r.Key) {
			keys = append(keys, r.Key)
		}
		horizon = max(horizon, durationMillis(r.Window+req.Margin))
	}
	if err := s.lockAll(ctx, tx, "limit", keys); err != nil {
		return 0, 0, 0, err
	}
	if now, err = s.clock(ctx, tx); err != nil {
		return 0, 0, 0, err
	}
	// Slots that left the widest window count for no rule: drop them.
	if _, err := tx.Exec(ctx, `DELETE FROM limiter_slots WHERE key = ANY($1) AND at <= $2`,
		keys, now-horizon); err != nil {
		return 0, 0, 0, fmt.Errorf("prune limiter slots: %w", err)
	}
	slots, paused, err := readLog(ctx, tx, keys)
	if err != nil {
		return 0, 0, 0, err
	}
	free = math.MaxInt
	var waitMs int64
	for _, r := range req.Rules {
		window := durationMillis(r.Window + req.Margin)
		if until := paused[r.Key]; until > now {
			waitMs = max(waitMs, until-now)
			free = 0
		}
		if r.Limit <= 0 {
			waitMs = max(waitMs, window)
			free = 0
			continue
		}
		// Slots in (now - window, now], and any in the future (a clock
		// that stepped back): they still count.
		times := slots[r.Key]
		i, _ := slices.BinarySearch(times, now-window+1)
		times = times[i:]
		free = min(free, max(r.Limit-len(times), 0))
		if over := len(times) - r.Limit; over >= 0 {
			// The (over+1)-th oldest slot must leave the window.
			waitMs = max(waitMs, times[over]+window-now)
		}
	}
	if waitMs > 0 {
		return now, free, time.Duration(waitMs) * time.Millisecond, nil
	}
	if _, err := tx.Exec(ctx, `INSERT INTO limiter_slots (key, at) SELECT unnest($1::text[]), $2`, keys, now); err != nil {
		return 0, 0, 0, fmt.Errorf("take limiter slot: %w", err)
	}
	return now, free, 0, nil
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
