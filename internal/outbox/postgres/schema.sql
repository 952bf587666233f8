-- relay outbox schema for PostgreSQL, version 1.
--
-- The same tables and columns as the SQLite store's schema.sql (read the
-- column notes there), in PostgreSQL's dialect: identity ids, BIGINT Unix
-- milliseconds (UTC) for every time. Two tables matter more here, because
-- with several replicas the limiter log cannot live in one process's
-- memory:
--
-- limiter_slots: the sliding-window log. One row per slot taken for a
--   limiter key (a room, a token) at `at`. Claim counts the rows of a key in
--   (now - window - margin, now] and deletes those that left the window.
--
-- limiter_pauses: a key held shut until `until` (a 429's reset). A later
--   pause wins; an earlier one never shortens a pause in force.
--
-- messages_lane_claimed lets Claim ask "does this lane hold an unexpired
-- lease?" with one index seek, instead of reading every message of the
-- lane. group_posts is the last message delivered per lane and
-- notification group, written by Ack and read by Requeue. group_follows is
-- what a lane's sender kind remembers to follow a group (which upstream
-- message and task carry it), written by Progress, swept after the
-- store's follow memory.
--
-- Every replica on the schema shares all of it: the queue, the dedup keys
-- and the limiter, so the limits are global.

CREATE TABLE messages (
	id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	lane            TEXT   NOT NULL,
	sender          TEXT   NOT NULL,
	destination     TEXT   NOT NULL,
	body            TEXT   NOT NULL,
	line            TEXT   NOT NULL DEFAULT '',
	tally           TEXT   NOT NULL DEFAULT '',
	notification_id TEXT   NOT NULL,
	source          TEXT   NOT NULL,
	route           TEXT   NOT NULL,
	group_key       TEXT   NOT NULL DEFAULT '',
	origin_id       BIGINT NOT NULL DEFAULT 0,
	created_at      BIGINT NOT NULL,
	available_at    BIGINT NOT NULL,
	attempts        INTEGER NOT NULL DEFAULT 0,
	claimed_until   BIGINT NOT NULL DEFAULT 0,
	last_reason     TEXT   NOT NULL DEFAULT '',
	last_answer     TEXT   NOT NULL DEFAULT '',
	follow          TEXT   NOT NULL DEFAULT '',
	solo            BOOLEAN NOT NULL DEFAULT false,
	step            INTEGER NOT NULL DEFAULT 0
);

CREATE INDEX messages_lane_id ON messages (lane, id);
CREATE INDEX messages_lane_claimed ON messages (lane, claimed_until);
CREATE INDEX messages_sender_created ON messages (sender, created_at);

CREATE TABLE dead_letters (
	id              BIGINT PRIMARY KEY,
	lane            TEXT   NOT NULL,
	sender          TEXT   NOT NULL,
	destination     TEXT   NOT NULL,
	body            TEXT   NOT NULL,
	line            TEXT   NOT NULL DEFAULT '',
	tally           TEXT   NOT NULL DEFAULT '',
	notification_id TEXT   NOT NULL,
	source          TEXT   NOT NULL,
	route           TEXT   NOT NULL,
	group_key       TEXT   NOT NULL DEFAULT '',
	origin_id       BIGINT NOT NULL DEFAULT 0,
	created_at      BIGINT NOT NULL,
	available_at    BIGINT NOT NULL,
	attempts        INTEGER NOT NULL,
	claimed_until   BIGINT NOT NULL,
	last_reason     TEXT   NOT NULL,
	last_answer     TEXT   NOT NULL,
	reason          TEXT   NOT NULL,
	answer          TEXT   NOT NULL,
	died_at         BIGINT NOT NULL,
	follow          TEXT   NOT NULL DEFAULT '',
	solo            BOOLEAN NOT NULL DEFAULT false,
	step            INTEGER NOT NULL DEFAULT 0
);

CREATE INDEX dead_letters_died ON dead_letters (died_at, id);

CREATE TABLE dedup (
	key             TEXT   PRIMARY KEY,
	notification_id TEXT   NOT NULL,
	expires_at      BIGINT NOT NULL
);

CREATE INDEX dedup_expires ON dedup (expires_at);

CREATE TABLE group_posts (
	lane            TEXT   NOT NULL,
	group_key       TEXT   NOT NULL,
	last_message_id BIGINT NOT NULL,
	last_origin_id  BIGINT NOT NULL,
	delivered_at    BIGINT NOT NULL,
	PRIMARY KEY (lane, group_key)
);

CREATE INDEX group_posts_delivered ON group_posts (delivered_at);

CREATE TABLE group_follows (
	lane       TEXT   NOT NULL,
	group_key  TEXT   NOT NULL,
	state      TEXT   NOT NULL,
	updated_at BIGINT NOT NULL,
	PRIMARY KEY (lane, group_key)
);

CREATE INDEX group_follows_updated ON group_follows (updated_at);

CREATE TABLE heartbeat (
	id  BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	at  BIGINT NOT NULL
);

CREATE TABLE limiter_slots (
	key TEXT   NOT NULL,
	at  BIGINT NOT NULL
);

CREATE INDEX limiter_slots_key_at ON limiter_slots (key, at);

CREATE TABLE limiter_pauses (
	key   TEXT   PRIMARY KEY,
	until BIGINT NOT NULL
);
