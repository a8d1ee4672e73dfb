"""Turning what a user shared into a clean Article: safe fetching, extraction, pasted-text clean-up, feeds."""
