"""Platform adapters: translate platform events into core requests and core results into messages."""
