-- Each user with queued jobs and their turn in the queue's round-robin (storage.queue): their last
-- start and their oldest queued job. Rewritten, under the ledger's lock, by every change to a user's
-- queued jobs (a job queued, started, cancelled, failed or expired), so a queued ack's place is one
-- count over this index instead of ranking every queued user.

CREATE TABLE queue_turns (
    user_id TEXT PRIMARY KEY,
    last_start DOUBLE PRECISION NOT NULL,
    oldest DOUBLE PRECISION NOT NULL
);

CREATE INDEX queue_turns_order ON queue_turns (last_start, oldest, user_id);

INSERT INTO queue_turns (user_id, last_start, oldest)
SELECT q.user_id,
    COALESCE((SELECT MAX(s.started_at) FROM jobs s WHERE s.user_id = q.user_id), -1e18),
    MIN(q.created_at)
FROM jobs q WHERE q.state = 'queued' GROUP BY q.user_id;
