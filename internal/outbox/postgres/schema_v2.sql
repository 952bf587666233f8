-- relay outbox schema for PostgreSQL, version 2: find a lane's leases
-- without reading the lane.
--
-- messages_lane_claimed lets Claim ask "does this lane hold an unexpired
-- lease?" with one index seek. Without it that question read every
-- message of the lane, and the dispatcher claims after every Enqueue: a
-- lane with a long queue made ingest quadratic (the SQLite store's schema
-- v3 fixed the same).
--
-- Plain CREATE INDEX, not CONCURRENTLY, because migrations run in a
-- transaction: it holds Enqueues back while it builds, a fraction of a
-- second for a queue of 100,000 messages.

CREATE INDEX messages_lane_claimed ON messages (lane, claimed_until);
