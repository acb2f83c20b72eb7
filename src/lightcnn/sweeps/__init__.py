"""Sweeps: the leaderboard of a sweep folder, read from its job folders on disk
(:mod:`.leaderboard`)."""
