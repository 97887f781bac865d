"""The command line: the app and its error boundary (app), the commands (commands), their shared options (options),
what the terminal shows (show) and the generated reference docs/cli.md (clidoc). A thin shell over seqtag.api.

May import anything in seqtag; nothing imports it but seqtag.__main__.
"""

from seqtag.cli import streams

streams.guard()  # before anything opens a file (see streams)
