"""How a conversation is steered, apart from what a message means: the shape of a message
(a question, something too short to understand) and the answers given in the middle of a form."""
