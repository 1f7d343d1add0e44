"""Rasa custom actions. Thin: each reads the tracker, calls ``bot``, and utters domain responses."""
