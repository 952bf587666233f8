package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"go.uber.org/zap"

	"github.com/relayhq/relay/internal/outbox"
)

// groupTimeout bounds one group commit, so a stuck database fails the
// waiting webhooks (503, retried by the sender) instead of hanging them. A
// group whose callers have earlier deadlines (a webhook's, shorter than the
// HTTP server's write timeout) must end by the earliest of them.
const groupTimeout = 30 * time.Second

// Enqueue commits the batch durably before it returns: the group
// committer's writer commits it, with whatever other batches are waiting,
// in one transaction. A batch is all or nothing, whatever happens to the
// others in its group.
func (s *Store) Enqueue(ctx context.Context, b outbox.Batch) (outbox.EnqueueResult, error) {
	res, err := s.group.Enqueue(ctx, b)
	if err == nil && len(res.IDs) > 0 {
		s.signal()
	}
	return res, err
}

// commitGroup is the store's outbox.CommitFunc: it writes each batch under
// its own savepoint, commits once, and answers every batch.
//
// It ends by groupTimeout or the earliest deadline of the group's callers,
// whichever comes first; PostgreSQL itself gives up on a lock or statement
// a little before (boundTx), so that a locked table fails the group with a
// clean rollback and the webhooks are answered 503 in time.
func (s *Store) commitGroup(group []outbox.Pending) []outbox.Answer {
	deadline := time.Now().Add(groupTimeout)
	for _, r := range group {
		if d, ok := r.Ctx.Deadline(); ok && d.Before(deadline) {
			deadline = d
		}
	}
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	answers := make([]outbox.Answer, len(group))
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := boundTx(ctx, tx); err != nil {
			return err
		}
		g, err := s.startGroup(ctx, tx, group)
		if err != nil {
			return err
		}
		for i, r := range group {
			answers[i] = s.enqueueOne(ctx, tx, g, r)
		}
		if g.added > 0 {
			return s.notify(ctx, tx)
		}
		return nil
	})
	if err != nil {
		err = fmt.Errorf("enqueue: %w", err)
		s.log.Error("outbox group commit failed", zap.Int("batches", len(group)), zap.Error(err))
	}
	for i := range answers {
		if err != nil && answers[i].Err == nil {
			answers[i] = outbox.Answer{Err: err}
		}
		s.depth.n += len(answers[i].Result.IDs)
	}
	return answers
}

// groupState is what one group commit knows beyond the database.
type groupState struct {
	now    int64
	queued int               // queued messages before the group, if MaxQueued is set
	seen   map[string]string // DedupKeys written in this group -> NotificationID
	added  int               // messages written in this group
}

// startGroup reads the clock, locks the group's lanes and counts the queue.
//
// The lane locks are the ones Claim takes: a claim cannot read a lane while
// a group that writes to it is uncommitted, so ids become visible in id
// order within every lane, on every replica, and FIFO holds.
func (s *Store) startGroup(ctx context.Context, tx pgx.Tx, group []outbox.Pending) (*groupState, error) {
	now, err := s.clock(ctx, tx)
	if err != nil {
		return nil, err
	}
	var lanes []string
	for _, r := range group {
		for _, m := range r.Batch.Messages {
			lanes = append(lanes, m.Dest.Lane())
		}
	}
	if err := s.lockAll(ctx, tx, "lane", lanes); err != nil {
		return nil, err
	}
	g := &groupState{now: now, seen: map[string]string{}}
	if s.opts.MaxQueued > 0 {
		if g.queued, err = s.depth.get(ctx, tx, s.opts.MaxQueued); err != nil {
			return nil, err
		}
	}
	return g, nil
}

// depthRefresh is how long a counted queue size is trusted for MaxQueued.
const depthRefresh = time.Second

// queueDepth is the queue's size as last counted, plus what this replica
// enqueued since. Counting every message on every group commit would make
// ingest slow down as the queue grows; the cap is a safety valve, so the
// size is counted at most once a second, and on every commit once the
// queue is within a tenth of the cap, where it must be exact. Between
// counts, other replicas' enqueues are not seen.
type queueDepth struct {
	n  int
	at time.Time
}

func (d *queueDepth) get(ctx context.Context, tx pgx.Tx, limit int) (int, error) {
	if !d.at.IsZero() && time.Since(d.at) < depthRefresh && d.n < limit-limit/10 {
		return d.n, nil
	}
	if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM messages`).Scan(&d.n); err != nil {
		d.at = time.Time{}
		return 0, fmt.Errorf("count queue: %w", err)
	}
	d.at = time.Now()
	return d.n, nil
}

// enqueueOne writes one batch under a savepoint, or rolls it back.
func (s *Store) enqueueOne(ctx context.Context, tx pgx.Tx, g *groupState, r outbox.Pending) outbox.Answer {
	b := r.Batch
	if err := r.Ctx.Err(); err != nil {
		return outbox.Answer{Err: fmt.Errorf("enqueue: %w", err)}
	}
	if first, ok := g.seen[b.DedupKey]; ok && b.DedupKey != "" {
		return outbox.Answer{Result: outbox.EnqueueResult{NotificationID: first, Duplicate: true}}
	}
	sp, err := tx.Begin(ctx)
	if err != nil {
		return outbox.Answer{Err: fmt.Errorf("enqueue: open savepoint: %w", err)}
	}
	res, err := s.writeBatch(ctx, sp, g, b)
	if err != nil || res.Duplicate {
		if rerr := sp.Rollback(ctx); rerr != nil {
			err = errors.Join(err, fmt.Errorf("roll back batch: %w", rerr))
		}
	} else if cerr := sp.Commit(ctx); cerr != nil {
		err = fmt.Errorf("release savepoint: %w", cerr)
	}
	if err != nil {
		if errors.Is(err, outbox.ErrFull) {
			return outbox.Answer{Err: err}
		}
		return outbox.Answer{Err: fmt.Errorf("enqueue: %w", err)}
	}
	if b.DedupKey != "" {
		g.seen[b.DedupKey] = res.NotificationID
	}
	g.added += len(res.IDs)
	return outbox.Answer{Result: res}
}

// writeBatch claims the batch's dedup key, checks the cap and inserts the
// messages. On a duplicate it writes nothing and says so.
func (s *Store) writeBatch(ctx context.Context, tx pgx.Tx, g *groupState, b outbox.Batch) (outbox.EnqueueResult, error) {
	if b.DedupKey != "" {
		first, err := s.claimDedupKey(ctx, tx, g.now, b)
		if err != nil {
			return outbox.EnqueueResult{}, err
		}
		if first != "" {
			return outbox.EnqueueResult{NotificationID: first, Duplicate: true}, nil
		}
	}
	if limit := s.opts.MaxQueued; limit > 0 && g.queued+g.added+len(b.Messages) > limit {
		return outbox.EnqueueResult{}, fmt.Errorf("enqueue %d messages: %w", len(b.Messages), outbox.ErrFull)
	}
	ids, err := insertMessages(ctx, tx, g.now, b)
	if err != nil {
		return outbox.EnqueueResult{}, err
	}
	return outbox.EnqueueResult{NotificationID: b.NotificationID, IDs: ids}, nil
}

// claimDedupKey remembers b's key until now + DedupTTL and returns "", or
// returns the NotificationID of the unexpired batch that holds the key. A
// replica inserting the same key concurrently makes it wait for that
// replica's commit, so exactly one of them stores the batch.
func (s *Store) claimDedupKey(ctx context.Context, tx pgx.Tx, now int64, b outbox.Batch) (string, error) {
	expires := now + durationMillis(s.opts.DedupTTL)
	tag, err := tx.Exec(ctx, `INSERT INTO dedup (key, notification_id, expires_at) VALUES ($1, $2, $3)
		ON CONFLICT (key) DO UPDATE SET notification_id = excluded.notification_id, expires_at = excluded.expires_at
		WHERE dedup.expires_at <= $4`,
		b.DedupKey, b.NotificationID, expires, now)
	if err != nil {
		return "", fmt.Errorf("remember dedup key: %w", err)
	}
	if tag.RowsAffected() == 1 {
		return "", nil
	}
	var first string
	if err := tx.QueryRow(ctx, `SELECT notification_id FROM dedup WHERE key = $1`, b.DedupKey).Scan(&first); err != nil {
		return "", fmt.Errorf("look up dedup key: %w", err)
	}
	return first, nil
}

// insertMessages inserts the batch's messages in one statement and returns
// their ids in batch order.
func insertMessages(ctx context.Context, tx pgx.Tx, now int64, b outbox.Batch) ([]int64, error) {
	n := len(b.Messages)
	if n == 0 {
		return nil, nil
	}
	var (
		lanes, senders, dests, bodies = make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		nids, sources, routes, groups = make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		lines, tallies                = make([]string, n), make([]string, n)
		created                       = make([]int64, n)
		follows, solos                = make([]string, n), make([]bool, n)
	)
	for i, m := range b.Messages {
		dest, err := json.Marshal(m.Dest)
		if err != nil {
			return nil, fmt.Errorf("encode destination: %w", err)
		}
		lanes[i], senders[i], dests[i], bodies[i] = m.Dest.Lane(), m.Dest.Sender, string(dest), m.Body
		nids[i], sources[i], routes[i], groups[i] = m.NotificationID, m.Source, m.Route, m.Group
		lines[i], tallies[i] = m.Line, outbox.EncodeTally(m.Tally)
		follows[i], solos[i] = m.Follow, m.Solo
		if nids[i] == "" {
			nids[i] = b.NotificationID
		}
		created[i] = now
		if !m.CreatedAt.IsZero() {
			created[i] = m.CreatedAt.UnixMilli()
		}
	}
	// Rows are inserted in ordinality order, so ids follow batch order.
	rows, err := tx.Query(ctx, `INSERT INTO messages
		(lane, sender, destination, body, notification_id, source, route, group_key, created_at, available_at, follow, solo, line, tally)
		SELECT lane, sender, destination, body, notification_id, source, route, group_key, created_at, $10, follow, solo, line, tally
		FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::bigint[],
			$11::text[], $12::boolean[], $13::text[], $14::text[])
			WITH ORDINALITY AS t(lane, sender, destination, body, notification_id, source, route, group_key, created_at, follow, solo, line, tally, ord)
		ORDER BY ord
		RETURNING id`,
		lanes, senders, dests, bodies, nids, sources, routes, groups, created, now, follows, solos, lines, tallies)
	if err != nil {
		return nil, fmt.Errorf("insert messages: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("insert messages: %w", err)
	}
	slices.Sort(ids)
	return ids, nil
}
