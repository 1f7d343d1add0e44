"""Emotion sensing: calm / anxious / angry / distressed per customer message, with an anxiety score."""
