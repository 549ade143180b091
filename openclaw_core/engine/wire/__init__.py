"""What both ends of a Gateway connection share: the protocol's frames and
limits, device identities, and how a client finds this state dir's Gateway."""
