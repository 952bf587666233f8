-- relay outbox schema for PostgreSQL, version 3: notification groups, so
-- that a requeued dead letter is never posted as the current state of its
-- group. The same columns and table as the SQLite store's schema_v6.sql
-- (read the notes there): group_key and origin_id on messages and
-- dead_letters, and group_posts, the last message delivered per lane and
-- notification group, written by Ack and read by Requeue.

ALTER TABLE messages ADD COLUMN group_key TEXT NOT NULL DEFAULT '';
ALTER TABLE messages ADD COLUMN origin_id BIGINT NOT NULL DEFAULT 0;
ALTER TABLE dead_letters ADD COLUMN group_key TEXT NOT NULL DEFAULT '';
ALTER TABLE dead_letters ADD COLUMN origin_id BIGINT NOT NULL DEFAULT 0;

CREATE TABLE group_posts (
	lane            TEXT   NOT NULL,
	group_key       TEXT   NOT NULL,
	last_message_id BIGINT NOT NULL,
	last_origin_id  BIGINT NOT NULL,
	delivered_at    BIGINT NOT NULL,
	PRIMARY KEY (lane, group_key)
);

CREATE INDEX group_posts_delivered ON group_posts (delivered_at);
