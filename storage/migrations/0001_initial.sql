-- Portable SQL: runs on SQLite and PostgreSQL. Money is BIGINT micro-dollars; times are epoch seconds.
-- Statements are split on semicolons, so none may appear inside a statement.

CREATE TABLE jobs (
    id TEXT PRIMARY KEY,
    team_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    channel_id TEXT NOT NULL,
    response_url TEXT,
    prompt TEXT NOT NULL,
    duration INTEGER NOT NULL,
    aspect_ratio TEXT NOT NULL,
    model TEXT NOT NULL,
    price_micros BIGINT NOT NULL,
    estimate_micros BIGINT NOT NULL,
    period TEXT NOT NULL,
    state TEXT NOT NULL,
    money_state TEXT NOT NULL,
    charged_micros BIGINT NOT NULL DEFAULT 0,
    gateway_job_id TEXT,
    result_url TEXT,
    result_duration INTEGER,
    result_resolution TEXT,
    delivery_channel TEXT,
    parent_ts TEXT,
    status_ts TEXT,
    file_id TEXT,
    permalink TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    failure_reason TEXT,
    created_at DOUBLE PRECISION NOT NULL,
    updated_at DOUBLE PRECISION NOT NULL,
    deadline_at DOUBLE PRECISION NOT NULL,
    owner TEXT,
    lease_until DOUBLE PRECISION,
    origin TEXT NOT NULL DEFAULT 'command'
);

CREATE INDEX jobs_user_created ON jobs (user_id, created_at);
CREATE INDEX jobs_state ON jobs (state);
CREATE INDEX jobs_owner_lease ON jobs (owner, lease_until);
CREATE INDEX jobs_period ON jobs (period);
CREATE INDEX jobs_money_state ON jobs (money_state);

CREATE TABLE budgets (
    user_id TEXT PRIMARY KEY,
    micros BIGINT NOT NULL,
    updated_at DOUBLE PRECISION NOT NULL
);

-- Workspace-wide settings an admin changes at run time: `default_budget`, `cap`.
CREATE TABLE workspace_settings (
    key TEXT PRIMARY KEY,
    micros BIGINT NOT NULL,
    updated_at DOUBLE PRECISION NOT NULL
);

CREATE TABLE frozen_users (
    user_id TEXT PRIMARY KEY,
    frozen_at DOUBLE PRECISION NOT NULL
);

CREATE TABLE alerts_sent (
    key TEXT NOT NULL,
    period TEXT NOT NULL,
    sent_at DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (key, period)
);
