"""Every sentence a user reads, one module per surface, in one voice."""
