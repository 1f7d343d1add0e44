"""Demo account store: balances, payees and transfers for the foundation's banking intents.

A real deployment replaces this package with the core-banking API; the actions only use
the functions exported by ``bot.accounts.store``.
"""
