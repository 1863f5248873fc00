"""Error types. A `UserError` is bad input: the CLI prints its message on one line and exits 2."""


class UserError(Exception):
    """Bad input from the user (file, spec, option); the message names the problem."""


class SpaceError(UserError):
    """A configuration that is not a member of the search space."""


class TraceFormatError(UserError):
    """A malformed trace file; the message names the file and the line."""

    def __init__(self, path, lineno, msg):
        super().__init__(f"{path}:{lineno}: {msg}")
        self.path, self.lineno = str(path), lineno
