-- Portable SQL: runs on SQLite and PostgreSQL. Times are epoch seconds.
-- Statements are split on semicolons, so none may appear inside a statement.

-- When the gateway accepted the job (its generation time starts here).
ALTER TABLE jobs ADD COLUMN submitted_at DOUBLE PRECISION;

-- Recent generation times reported by the gateway, per model and duration (a moving median).
CREATE TABLE generation_times (
    model TEXT NOT NULL,
    duration INTEGER NOT NULL,
    seconds DOUBLE PRECISION NOT NULL,
    recorded_at DOUBLE PRECISION NOT NULL
);

CREATE INDEX generation_times_recent ON generation_times (model, duration, recorded_at);
CREATE INDEX generation_times_model ON generation_times (model, recorded_at);

-- The fair queue: when a job got its running slot (round-robin reads each user's last start), and
-- who cancelled it.
ALTER TABLE jobs ADD COLUMN started_at DOUBLE PRECISION;
ALTER TABLE jobs ADD COLUMN cancelled_by TEXT;
CREATE INDEX jobs_user_started ON jobs (user_id, started_at)
;

-- The workspace content policy: normalized terms (lower case, no accents, single spaces).
CREATE TABLE blocked_terms (
    term TEXT PRIMARY KEY,
    added_by TEXT NOT NULL,
    added_at DOUBLE PRECISION NOT NULL
);

-- Prompts the content policy refused, counted per user and budget period (shown in `usage`).
CREATE TABLE policy_refusals (
    user_id TEXT NOT NULL,
    period TEXT NOT NULL,
    refusals INTEGER NOT NULL,
    PRIMARY KEY (user_id, period)
);

-- Every admin action: who, when, what, old and new value. `seq` orders actions made in one second.
CREATE TABLE admin_audit (
    seq BIGINT PRIMARY KEY,
    at DOUBLE PRECISION NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    old_value TEXT NOT NULL,
    new_value TEXT NOT NULL
)
