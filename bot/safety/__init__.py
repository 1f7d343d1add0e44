"""What stops the normal flow: a customer in crisis, or a fraud in progress."""
