"""Block Kit builders, one module per surface (thread, form, home) on shared primitives (base).

Pure functions: data in, Slack JSON out, no I/O; every sentence they show comes from `bot.ui.words`.
"""
