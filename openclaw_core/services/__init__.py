"""Services: what a command or a Gateway method does (cleanup, agents,
listing), on the engine, with the Hooks and config they are given."""
