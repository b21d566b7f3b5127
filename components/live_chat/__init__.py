"""Lex + API Gateway live-agent chat with Talkdesk: the component (`component.py`) and its Lambda handlers."""
