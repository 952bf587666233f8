-- relay outbox schema, version 2: the limiter log on disk.
--
-- limiter_slots: one row per slot taken (per limiter key, at Unix ms), the
--   sliding-window log of what was posted. A restarted relay loads the
--   recent rows, so it does not post a second burst into a room that is
--   still full in Chatwork's window. Rows older than the longest window
--   are swept.
-- limiter_pauses: a key held shut until `until` (a 429's reset), so a
--   restart honours a pause in force.
--
-- The PostgreSQL store keeps the same two tables and makes them the one
-- shared log of every replica.

CREATE TABLE limiter_slots (
	key TEXT    NOT NULL,
	at  INTEGER NOT NULL
);
CREATE INDEX limiter_slots_key_at ON limiter_slots (key, at);

CREATE TABLE limiter_pauses (
	key   TEXT    PRIMARY KEY,
	until INTEGER NOT NULL
);
