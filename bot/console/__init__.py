"""The compliance officer's console: a page and an API beside the agent copilot.

An officer (a staff key with the role ``compliance``, ``bot.copilot.agents``) signs in and can
search and export the audit trail and see whether its chain verifies (``search``), review the
guard's blocks (``blocks``, marks in ``reviews``), validate a draft of the rules file and try
sentences against it beside the live rules (``drafts``; a draft never goes live from here),
see which rules versions were in force (``history``) and read the latest compliance
simulation report (``reports``). Every read of customer data is itself audited (``access``).
``routes`` is the HTTP side, mounted by the copilot server; ``sessions`` the sign-in.
"""
