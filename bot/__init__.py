"""briefbot: briefings of shared articles for Slack, Discord and the terminal."""

__version__ = "0.1.0"
