-- Issue 12: Slack's contract.
-- When files.completeUploadExternal was (about to be) sent for the job's file: a restart then waits
-- for the share in files.info instead of completing the same upload a second time.
ALTER TABLE jobs ADD COLUMN share_sent_at DOUBLE PRECISION;

-- Live replicas, so each paces its Slack calls at its share of the workspace's rate limits.
CREATE TABLE replicas (
    id TEXT PRIMARY KEY,
    seen_at DOUBLE PRECISION NOT NULL
);
