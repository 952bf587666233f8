-- relay outbox schema, version 6: notification groups, so that a requeued
-- dead letter is never posted as the current state of its group.
--
-- messages.group_key, dead_letters.group_key: the notification group of the
--   message (delivery.Message.Group: Alertmanager's or Grafana's groupKey);
--   '' for sources without one.
-- messages.origin_id, dead_letters.origin_id: the id the message was first
--   enqueued with, kept when Requeue gives it a new id; 0 means the
--   message's own id. COALESCE(NULLIF(origin_id, 0), id) orders the
--   notifications of a group as they were accepted.
--
-- group_posts: per lane and notification group, the last message delivered
--   (Ack writes it in the transaction that deletes the message):
--   last_message_id  its outbox id;
--   last_origin_id   the newest origin order (see origin_id) delivered;
--   delivered_at     when it was acknowledged (Unix ms).
--   Requeue skips a dead letter whose group has a newer notification
--   delivered here or queued. Rows not written for outbox.GroupPostMemory
--   are swept. (A later version may remember the upstream's message ids
--   here.)

ALTER TABLE messages ADD COLUMN group_key TEXT NOT NULL DEFAULT '';
ALTER TABLE messages ADD COLUMN origin_id INTEGER NOT NULL DEFAULT 0;
ALTER TABLE dead_letters ADD COLUMN group_key TEXT NOT NULL DEFAULT '';
ALTER TABLE dead_letters ADD COLUMN origin_id INTEGER NOT NULL DEFAULT 0;

CREATE TABLE group_posts (
	lane            TEXT    NOT NULL,
	group_key       TEXT    NOT NULL,
	last_message_id INTEGER NOT NULL,
	last_origin_id  INTEGER NOT NULL,
	delivered_at    INTEGER NOT NULL,
	PRIMARY KEY (lane, group_key)
);
CREATE INDEX group_posts_delivered ON group_posts (delivered_at);
