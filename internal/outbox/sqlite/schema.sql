-- relay outbox schema, version 1.
--
-- The same tables serve the SQLite store and the PostgreSQL store; only the
-- dialect differs (PostgreSQL: BIGINT GENERATED ALWAYS AS IDENTITY for the
-- AUTOINCREMENT ids, BIGINT for the INTEGER times, TEXT stays TEXT, and the
-- JSON column may be JSONB), and so does the form of the dedup key (see
-- dedup). Every time is Unix milliseconds (UTC).
--
-- messages: the queue. One row per rendered message for one destination.
--   id             FIFO order; AUTOINCREMENT so an id is never reused, even
--                  after the newest message is deleted (dead letters keep
--                  their ids).
--   lane           delivery.Destination.Lane(): messages of one lane are
--                  delivered one post at a time, in id order.
--   sender         Destination.Sender, for Stats.
--   destination    the delivery.Destination as JSON.
--   body           the rendered message.
--   line, tally    its one-line form and the counts of its alerts by
--                  status, name and severity (JSON, '' for none): what a
--                  storm post carries instead of the body, and its heading
--                  sums.
--   notification_id, source, route
--                  where it came from (the webhook's 202 id, logs, metrics).
--   group_key      the notification group of the message
--                  (delivery.Message.Group: Alertmanager's or Grafana's
--                  groupKey); '' for sources without one.
--   origin_id      the id the message was first enqueued with, kept when
--                  Requeue gives it a new id; 0 means the message's own id.
--                  COALESCE(NULLIF(origin_id, 0), id) orders the
--                  notifications of a group as they were accepted.
--   created_at     when the webhook was accepted (max age, oldest age).
--   available_at   not claimable before this (retry backoff).
--   attempts       failed attempts that used up the retry budget.
--   claimed_until  lease end of the worker that claimed it; 0 = not claimed.
--                  Cleared at startup by a store that owns the file.
--   last_reason, last_answer
--                  why the last attempt failed and what the upstream said.
--   follow         delivery.Message.Follow: what the destination's kind
--                  needs to follow the group with the message; '' for a
--                  plain post.
--   solo           1: claimed alone, never folded with other messages.
--   step           operations of the message done so far (its post, when
--                  a task is still to be made); a message with step > 0 is
--                  claimed alone.
--
--   messages_lane_id lets Claim read a lane's head and count its messages,
--   and Lanes hop from lane to lane, by index seeks. messages_lane_claimed
--   answers Claim's "does this lane hold an unexpired lease?" with one seek;
--   it is partial, so it holds only the leased messages, and a query uses
--   it only if its WHERE names the index's condition (claimed_until > 0).
--
-- dead_letters: messages that will not be delivered without help. The
--   columns of messages (id is the message's id) plus why it died (reason,
--   answer) and when (died_at). Requeue moves rows back into messages with
--   new ids, so they join the end of their lane.
--
-- dedup: DedupKeys of accepted batches, remembered until expires_at, so a
--   webhook sent twice (Alertmanager HA peers) is answered with the first
--   batch's notification_id and stored once. A key is written, and
--   committed, with its batch; a key whose row has expired is taken over by
--   the next batch with it. Expired rows are swept.
--   key is the first 16 bytes of the SHA-256 of the DedupKey, and the
--   table is WITHOUT ROWID: one B-tree of short keys, where a TEXT key in
--   a rowid table needs the table and an index of full keys. A webhook's
--   key lands at a random place in that tree, so each one writes a page;
--   the smaller tree makes that write and the lookups cheaper. (The
--   PostgreSQL store keeps the DedupKey as TEXT.)
--
-- group_posts: per lane and notification group, the last message delivered
--   (Ack writes it in the transaction that deletes the message):
--   last_message_id  its outbox id;
--   last_origin_id   the newest origin order (see origin_id) delivered;
--   delivered_at     when it was acknowledged.
--   Requeue skips a dead letter whose group has a newer notification
--   delivered here or queued. Rows not written for outbox.GroupPostMemory
--   are swept.
--
-- group_follows: per lane and notification group, what the lane's sender
--   kind remembers to follow the group (outbox.GroupState: which upstream
--   message and task carry it), in the kind's own encoding (state),
--   written with the outcome of each operation (Progress) at updated_at.
--   Rows not written for the store's follow memory are swept.
--
-- limiter_slots: one row per slot taken (per limiter key, at), the
--   sliding-window log of what was posted. A restarted relay loads the
--   recent rows, so it does not post a second burst into a room that is
--   still full in Chatwork's window. Rows older than the longest window
--   are swept.
-- limiter_pauses: a key held shut until `until` (a 429's reset), so a
--   restart honours a pause in force. The PostgreSQL store keeps the same
--   two tables and makes them the one shared log of every replica.
--
-- heartbeat: scratch table for Ping's real write; it stays empty.
--
-- schema_migrations: one row per applied schema version.

CREATE TABLE IF NOT EXISTS schema_migrations (
	version    INTEGER PRIMARY KEY,
	applied_at INTEGER NOT NULL
);

CREATE TABLE messages (
	id              INTEGER PRIMARY KEY AUTOINCREMENT,
	lane            TEXT    NOT NULL,
	sender          TEXT    NOT NULL,
	destination     TEXT    NOT NULL,
	body            TEXT    NOT NULL,
	line            TEXT    NOT NULL DEFAULT '',
	tally           TEXT    NOT NULL DEFAULT '',
	notification_id TEXT    NOT NULL,
	source          TEXT    NOT NULL,
	route           TEXT    NOT NULL,
	group_key       TEXT    NOT NULL DEFAULT '',
	origin_id       INTEGER NOT NULL DEFAULT 0,
	created_at      INTEGER NOT NULL,
	available_at    INTEGER NOT NULL,
	attempts        INTEGER NOT NULL DEFAULT 0,
	claimed_until   INTEGER NOT NULL DEFAULT 0,
	last_reason     TEXT    NOT NULL DEFAULT '',
	last_answer     TEXT    NOT NULL DEFAULT '',
	follow          TEXT    NOT NULL DEFAULT '',
	solo            INTEGER NOT NULL DEFAULT 0,
	step            INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX messages_lane_id ON messages (lane, id);
CREATE INDEX messages_lane_claimed ON messages (lane, claimed_until) WHERE claimed_until > 0;
CREATE INDEX messages_sender_created ON messages (sender, created_at);

CREATE TABLE dead_letters (
	id              INTEGER PRIMARY KEY,
	lane            TEXT    NOT NULL,
	sender          TEXT    NOT NULL,
	destination     TEXT    NOT NULL,
	body            TEXT    NOT NULL,
	line            TEXT    NOT NULL DEFAULT '',
	tally           TEXT    NOT NULL DEFAULT '',
	notification_id TEXT    NOT NULL,
	source          TEXT    NOT NULL,
	route           TEXT    NOT NULL,
	group_key       TEXT    NOT NULL DEFAULT '',
	origin_id       INTEGER NOT NULL DEFAULT 0,
	created_at      INTEGER NOT NULL,
	available_at    INTEGER NOT NULL,
	attempts        INTEGER NOT NULL,
	claimed_until   INTEGER NOT NULL,
	last_reason     TEXT    NOT NULL,
	last_answer     TEXT    NOT NULL,
	reason          TEXT    NOT NULL,
	answer          TEXT    NOT NULL,
	died_at         INTEGER NOT NULL,
	follow          TEXT    NOT NULL DEFAULT '',
	solo            INTEGER NOT NULL DEFAULT 0,
	step            INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX dead_letters_died ON dead_letters (died_at, id);

CREATE TABLE dedup (
	key             BLOB    PRIMARY KEY,
	notification_id TEXT    NOT NULL,
	expires_at      INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX dedup_expires ON dedup (expires_at);

CREATE TABLE group_posts (
	lane            TEXT    NOT NULL,
	group_key       TEXT    NOT NULL,
	last_message_id INTEGER NOT NULL,
	last_origin_id  INTEGER NOT NULL,
	delivered_at    INTEGER NOT NULL,
	PRIMARY KEY (lane, group_key)
);
CREATE INDEX group_posts_delivered ON group_posts (delivered_at);

CREATE TABLE group_follows (
	lane       TEXT    NOT NULL,
	group_key  TEXT    NOT NULL,
	state      TEXT    NOT NULL,
	updated_at INTEGER NOT NULL,
	PRIMARY KEY (lane, group_key)
);
CREATE INDEX group_follows_updated ON group_follows (updated_at);

CREATE TABLE limiter_slots (
	key TEXT    NOT NULL,
	at  INTEGER NOT NULL
);
CREATE INDEX limiter_slots_key_at ON limiter_slots (key, at);

CREATE TABLE limiter_pauses (
	key   TEXT    PRIMARY KEY,
	until INTEGER NOT NULL
);

CREATE TABLE heartbeat (
	id  INTEGER PRIMARY KEY,
	at  INTEGER NOT NULL,
	pad BLOB
);
