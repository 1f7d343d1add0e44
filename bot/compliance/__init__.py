"""Compliance: the rules (one data file), the guard every outgoing text passes, the product
catalogue, suitability, risk profiles and the audit trail. No torch: the Rasa server imports it."""
