-- relay outbox schema, version 3: find a lane's leases without reading it.
--
-- messages_lane_claimed lets Claim ask "does this lane hold an unexpired
-- lease?" with one index seek. Without it that question reads every
-- message of the lane, and Claim runs after every Enqueue: a lane with a
-- long queue made ingest quadratic.

CREATE INDEX messages_lane_claimed ON messages (lane, claimed_until);
