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
CREATE INDEX generation_times_model ON generation_times (model, recorded_at)
