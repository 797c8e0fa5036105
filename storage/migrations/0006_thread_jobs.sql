-- The thread a request came from (an @mention, a message shortcut): its video answers there, with no
-- parent message of its own, and Regenerate / Edit and regenerate / Try again answer there too.
-- NULL for a video under a parent message of its own (/video).

ALTER TABLE jobs ADD COLUMN thread_ts TEXT;
