"""Code that runs inside the Rasa server (Python 3.10 environment; never imports torch)."""
