"""Who is acting: customer tokens of the app, WeChat bindings, the party a conversation is for."""
