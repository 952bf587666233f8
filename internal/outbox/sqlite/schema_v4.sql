-- relay outbox schema, version 4: only leased messages in the lease index.
--
-- messages_lane_claimed answers Claim's "does this lane hold an unexpired
-- lease?". Only a message being delivered has claimed_until > 0, yet every
-- queued message had an entry, written with it by Enqueue: one more b-tree
-- insert per message and one or two more WAL pages per group commit. As a
-- partial index it holds the leased messages only. A query uses it only if
-- its WHERE names the index's condition (claimed_until > 0) as a term.

DROP INDEX messages_lane_claimed;
CREATE INDEX messages_lane_claimed ON messages (lane, claimed_until) WHERE claimed_until > 0;
