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

// maxGroup bounds how many waiting batches one group commit takes.
const maxGroup = 256

// groupTimeout bounds one group commit, so a stuck database fails the
// waiting webhooks (503, retried by the sender) instead of hanging them.
const groupTimeout = 30 * time.Second

// request is one Enqueue call waiting for the writer.
type request struct {
	ctx    context.Context
	batch  outbox.Batch
	answer chan answer // buffered(1): the writer never blocks on it
}

type answer struct {
	res outbox.EnqueueResult
	err error
}

// Enqueue commits the batch durably before it returns: the writer
// goroutine commits it, with whatever other batches are waiting, in one
// transaction. A batch is all or nothing, whatever happens to the others
// in its group.
func (s *Store) Enqueue(ctx context.Context, b outbox.Batch) (outbox.EnqueueResult, error) {
	r := &request{ctx: ctx, batch: b, answer: make(chan answer, 1)}
	select {
	case s.enqueue <- r:
	case <-s.quit:
		return outbox.EnqueueResult{}, ErrClosed
	case <-ctx.Done():
		return outbox.EnqueueResult{}, fmt.Errorf("enqueue: %w", ctx.Err())
	}
	// Once handed over, wait for the answer even if ctx ends: the batch
	// may be committing, and Enqueue must not say "failed" about a batch
	// that is stored. The writer answers every request it takes.
	a := <-r.answer
	if a.err == nil && len(a.res.IDs) > 0 {
		s.signal()
	}
	return a.res, a.err
}

// writer takes waiting Enqueue requests in groups and commits each group.
func (s *Store) writer() {
	defer s.done.Done()
	for {
		var group []*request
		select {
		case r := <-s.enqueue:
			group = append(group, r)
		case <-s.quit:
			return
		}
	more:
		for len(group) < maxGroup {
			select {
			case r := <-s.enqueue:
				group = append(group, r)
			default:
				break more
			}
		}
		s.commitGroup(group)
	}
}

// commitGroup writes each request's batch under its own savepoint, commits
// once, and answers every request.
func (s *Store) commitGroup(group []*request) {
	ctx, cancel := context.WithTimeout(context.Background(), groupTimeout)
	defer cancel()
	answers := make([]answer, len(group))
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
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
	for i, r := range group {
		if err != nil && answers[i].err == nil {
			answers[i] = answer{err: err}
		}
		r.answer <- answers[i]
	}
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
func (s *Store) startGroup(ctx context.Context, tx pgx.Tx, group []*request) (*groupState, error) {
	now, err := s.clock(ctx, tx)
	if err != nil {
		return nil, err
	}
	var lanes []string
	for _, r := range group {
		for _, m := range r.batch.Messages {
			lanes = append(lanes, m.Dest.Lane())
		}
	}
	if err := s.lockAll(ctx, tx, "lane", lanes); err != nil {
		return nil, err
	}
	g := &groupState{now: now, seen: map[string]string{}}
	if s.opts.MaxQueued > 0 {
		if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM messages`).Scan(&g.queued); err != nil {
			return nil, fmt.Errorf("count queue: %w", err)
		}
	}
	return g, nil
}

// enqueueOne writes one batch under a savepoint, or rolls it back.
func (s *Store) enqueueOne(ctx context.Context, tx pgx.Tx, g *groupState, r *request) answer {
	b := r.batch
	if err := r.ctx.Err(); err != nil {
		return answer{err: fmt.Errorf("enqueue: %w", err)}
	}
	if first, ok := g.seen[b.DedupKey]; ok && b.DedupKey != "" {
		return answer{res: outbox.EnqueueResult{NotificationID: first, Duplicate: true}}
	}
	sp, err := tx.Begin(ctx)
	if err != nil {
		return answer{err: fmt.Errorf("enqueue: open savepoint: %w", err)}
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
			return answer{err: err}
		}
		return answer{err: fmt.Errorf("enqueue: %w", err)}
	}
	if b.DedupKey != "" {
		g.seen[b.DedupKey] = res.NotificationID
	}
	g.added += len(res.IDs)
	return answer{res: res}
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
		nids, sources, routes         = make([]string, n), make([]string, n), make([]string, n)
		created                       = make([]int64, n)
	)
	for i, m := range b.Messages {
		dest, err := json.Marshal(m.Dest)
		if err != nil {
			return nil, fmt.Errorf("encode destination: %w", err)
		}
		lanes[i], senders[i], dests[i], bodies[i] = m.Dest.Lane(), m.Dest.Sender, string(dest), m.Body
		nids[i], sources[i], routes[i] = m.NotificationID, m.Source, m.Route
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
		(lane, sender, destination, body, notification_id, source, route, created_at, available_at)
		SELECT lane, sender, destination, body, notification_id, source, route, created_at, $9
		FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::bigint[])
			WITH ORDINALITY AS t(lane, sender, destination, body, notification_id, source, route, created_at, ord)
		ORDER BY ord
		RETURNING id`,
		lanes, senders, dests, bodies, nids, sources, routes, created, now)
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
