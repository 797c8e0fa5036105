"""Every sentence a user reads, in one voice, one module per surface.

`format` (the small pieces: escaping, seconds, dates, periods), `video` (/video answers and request
errors), `thread` (parent, status, delivery, failure, the buttons' answers), `form`, `home`,
`alerts`, `admin` (/video-admin), `money` (amounts that cannot be read), `reasons` (why a job
failed). Pure: data in, Slack mrkdwn out.
"""
