-- Indexes for the queue's questions, so an ack stays quick however long the queue grows: jobs holding
-- a slot (a few states, money reserved) without reading every reserved job, and queued jobs by user in
-- age order (a user's turn and place) without sorting the whole queue.

CREATE INDEX jobs_state_money ON jobs (state, money_state);
CREATE INDEX jobs_state_user ON jobs (state, user_id, created_at);

-- Both new indexes start with the state: the old one on the state alone only costs every write.
DROP INDEX jobs_state;
