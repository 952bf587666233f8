package sqlite

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"sync"
	"time"
)

// dedupIndex finds the row of a dedup key in the dedup table, which has no
// index on its keys (schema v5): the keys are hashes, so an index on them
// took a b-tree page anywhere in the index for nearly every key, and those
// pages were half the WAL frames of a group commit. The table stays the
// record; the index is rebuilt from it at Open.
//
// Every row of the table that is not expired has an entry: byHash maps the
// hash of its key to its id, unless that slot holds another key's row; then
// overflow maps the key itself. An entry may point at a row that is gone or
// holds another key (rows are deleted, ids are reused, a transaction that
// wrote a row is rolled back): a look-up reads the row and compares its key,
// so such an entry costs only memory. An entry is replaced only if it
// points at no row of another key, and dropped only by the sweeper, for a
// row whose deletion it committed. So a key has at most one row: the writer
// inserts one only if the index finds none.
//
// The writer holds mu for the whole group it writes and the sweeper while
// it deletes rows and then their entries, each before it takes the
// connection. Else the sweeper could drop the entry of a row the writer
// wrote, for the same key, under the id of a row just deleted.
type dedupIndex struct {
	mu       sync.Mutex
	hash     func(key string) uint64 // maphash; tests make keys collide
	byHash   map[uint64]int64
	overflow map[string]int64
}

func newDedupIndex() *dedupIndex {
	seed := maphash.MakeSeed()
	return &dedupIndex{
		hash:     func(key string) uint64 { return maphash.String(seed, key) },
		byHash:   map[uint64]int64{},
		overflow: map[string]int64{},
	}
}

// candidates returns the ids of the rows key may be in: its overflow entry
// and the one of its hash.
func (x *dedupIndex) candidates(key string) (over int64, inOverflow bool, byHash int64, hashed bool) {
	over, inOverflow = x.overflow[key]
	byHash, hashed = x.byHash[x.hash(key)]
	return over, inOverflow, byHash, hashed
}

// set points key at the row id: by its hash unless taken, that is unless
// its hash's slot holds a row of another key; then in overflow.
func (x *dedupIndex) set(key string, id int64, taken bool) {
	if taken {
		x.overflow[key] = id
		return
	}
	x.byHash[x.hash(key)] = id
}

// forget drops key's entries that point at the row id, which is deleted.
func (x *dedupIndex) forget(key string, id int64) {
	if v, ok := x.overflow[key]; ok && v == id {
		delete(x.overflow, key)
	}
	h := x.hash(key)
	if v, ok := x.byHash[h]; ok && v == id {
		delete(x.byHash, h)
	}
}

// dedupRow is a row of the dedup table.
type dedupRow struct {
	id           int64
	notification string
	expires      int64 // Unix ms
}

// findDedup returns the row of key, if it has one (found), and whether the
// index's slot for key's hash holds another key's row (taken). It reads the
// rows the index points at.
func (s *Store) findDedup(w *writeStmts, key string) (row dedupRow, found, taken bool, err error) {
	over, inOverflow, byHash, hashed := s.dedup.candidates(key)
	if inOverflow {
		row, k, ok, err := w.readDedup(over)
		if err != nil || (ok && k == key) {
			return row, ok, false, err
		}
	}
	if hashed {
		row, k, ok, err := w.readDedup(byHash)
		if err != nil || (ok && k == key) {
			return row, ok, false, err
		}
		taken = ok
	}
	return dedupRow{}, false, taken, nil
}

// loadDedup builds the dedup index from the table.
func (s *Store) loadDedup(ctx context.Context) error {
	rows, err := s.db.QueryContext(ctx, `SELECT id, key FROM dedup`)
	if err != nil {
		return fmt.Errorf("load dedup keys: %w", err)
	}
	defer func() { _ = rows.Close() }()
	x := s.dedup
	for rows.Next() {
		var (
			id  int64
			key string
		)
		if err := rows.Scan(&id, &key); err != nil {
			return fmt.Errorf("load dedup keys: %w", err)
		}
		_, taken := x.byHash[x.hash(key)]
		x.set(key, id, taken)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("load dedup keys: %w", err)
	}
	return nil
}

// sweepDedup deletes the expired dedup keys and their entries in the index
// and returns how many it deleted.
func (s *Store) sweepDedup(ctx context.Context, now time.Time) (int64, error) {
	s.dedup.mu.Lock()
	defer s.dedup.mu.Unlock()
	rows, err := s.db.QueryContext(ctx, `DELETE FROM dedup WHERE expires_at <= ? RETURNING id, key`, now.UnixMilli())
	if err != nil {
		return 0, fmt.Errorf("sweep dedup: %w", err)
	}
	type gone struct {
		id  int64
		key string
	}
	var deleted []gone
	for rows.Next() {
		var g gone
		if err := rows.Scan(&g.id, &g.key); err != nil {
			return 0, errors.Join(fmt.Errorf("sweep dedup: %w", err), rows.Close())
		}
		deleted = append(deleted, g)
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return 0, fmt.Errorf("sweep dedup: %w", err)
	}
	for _, g := range deleted {
		s.dedup.forget(g.key, g.id)
	}
	return int64(len(deleted)), nil
}
