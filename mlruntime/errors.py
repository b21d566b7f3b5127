"""The one error a user's input raises below the command line (exit code 2 there)."""


class InputError(Exception):
    """Bad input (a missing or invalid file, an option out of range): the message says which and why."""
