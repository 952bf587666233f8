package sqlite

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sync"

	"go.uber.org/zap"
	msqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/relayhq/relay/internal/outbox"
)

// health is what the store knows of its file. Once the file is found gone,
// replaced or corrupt, the store is broken until relay restarts: what it
// would accept from then on could be lost, or never delivered.
type health struct {
	path string
	file os.FileInfo // the file as opened
	log  *zap.Logger

	mu     sync.Mutex
	broken error // *brokenError, sticky
}

// brokenError is the error of a broken store; it matches outbox.ErrBroken.
type brokenError struct{ msg string }

func (e *brokenError) Error() string        { return e.msg }
func (e *brokenError) Is(target error) bool { return target == outbox.ErrBroken }

// err returns the reason the store is broken, or nil.
func (h *health) err() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.broken
}

// breakWith makes the store broken with msg, unless it is already, and
// logs it once; it returns the store's broken error.
func (h *health) breakWith(msg string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.broken == nil {
		h.broken = &brokenError{msg: msg}
		h.log.Error("outbox is broken; it refuses webhooks and readiness until relay restarts",
			zap.String("path", h.path), zap.String("reason", msg))
	}
	return h.broken
}

// checkFile breaks the store if its path no longer names the file it
// opened (deleted, or replaced by another file). One stat.
func (h *health) checkFile() error {
	if err := h.err(); err != nil {
		return err
	}
	fi, err := os.Stat(h.path)
	switch {
	case errors.Is(err, fs.ErrNotExist) || err == nil && !os.SameFile(h.file, fi):
		return h.breakWith(fmt.Sprintf("outbox file %s was deleted or replaced; restart relay to recreate it", h.path))
	case err != nil:
		return fmt.Errorf("check outbox file %s: %w", h.path, err)
	}
	return nil
}

// fail inspects err, an error of a statement on the store: a corrupt
// database breaks the store, and so does a file that is gone. It returns
// err.
func (s *Store) fail(err error) error {
	if err == nil || errors.Is(err, outbox.ErrBroken) {
		return err
	}
	if isCorrupt(err) {
		s.health.breakWith(corruptMessage(s.health.path, err))
		return err
	}
	_ = s.health.checkFile()
	return err
}

// isCorrupt reports whether err is SQLite's SQLITE_CORRUPT or
// SQLITE_NOTADB (any extended code of them), or a failed quick_check.
func isCorrupt(err error) bool {
	var qe *quickCheckError
	if errors.As(err, &qe) {
		return true
	}
	var se *msqlite.Error
	if !errors.As(err, &se) {
		return false
	}
	switch se.Code() & 0xff {
	case sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB:
		return true
	}
	return false
}

// corruptMessage says that the database at path is corrupt, and what to do.
func corruptMessage(path string, err error) string {
	return fmt.Sprintf("outbox database %s is corrupt: %v; stop relay, move the file aside (keep it for recovery) "+
		"or restore a backup, and start relay again", path, err)
}
