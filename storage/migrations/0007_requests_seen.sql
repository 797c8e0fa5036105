-- Request idempotency: every Slack request we act on (a slash command, a click, a view submission,
-- an event) is claimed here once, by its identity, before anything moves. A replay or a Slack retry
-- finds the key taken and gets the first answer again. Rows are kept at least 10 minutes.

CREATE TABLE requests_seen (
    key TEXT PRIMARY KEY,
    claimed_at DOUBLE PRECISION NOT NULL,
    answer TEXT
);

CREATE INDEX requests_seen_claimed ON requests_seen (claimed_at);

-- What the gateway billed beyond a job's reservation (its result longer than asked). The user is
-- charged at most the reservation; the rest is kept here, per job, for admins to see.
ALTER TABLE jobs ADD COLUMN overage_micros BIGINT NOT NULL DEFAULT 0;
