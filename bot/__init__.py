"""Anxin (安心): the product's own logic, kept apart from Rasa's project surface.

Modules imported by the Rasa server (``bot.channels``, ``bot.rasa_ext``, ``bot.language``)
must never import torch: the Rasa server runs in its own Python 3.10 environment.
"""
