-- relay outbox schema, version 5: dedup keys without an index on disk.
--
-- A dedup key is a hash, so the index on dedup.key took a b-tree page
-- anywhere in the index for nearly every key: half the WAL frames of a
-- group commit. The store keeps that index in memory instead (rebuilt from
-- this table at Open) and finds a key's row by its id. The table stays the
-- record: a key is written, and committed, with its batch. At most one row
-- of a key is unexpired.

CREATE TABLE dedup_v5 (
	id              INTEGER PRIMARY KEY,
	key             TEXT    NOT NULL,
	notification_id TEXT    NOT NULL,
	expires_at      INTEGER NOT NULL
);
INSERT INTO dedup_v5 (key, notification_id, expires_at)
	SELECT key, notification_id, expires_at FROM dedup ORDER BY expires_at;
DROP TABLE dedup;
ALTER TABLE dedup_v5 RENAME TO dedup;
CREATE INDEX dedup_expires ON dedup (expires_at);
