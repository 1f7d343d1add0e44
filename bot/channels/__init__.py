"""Input channels loaded by the Rasa server from credentials.yml (no torch here)."""
