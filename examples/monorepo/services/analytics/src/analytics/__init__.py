"""Usage analytics jobs."""
