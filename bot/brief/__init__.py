"""Briefing engines and their parts: sentences, quotes, key points, implications."""
