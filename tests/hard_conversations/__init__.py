"""The hard-conversations suite: conversations.yml, its checker (the oracle) and its runner."""
