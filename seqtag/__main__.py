"""`python -m seqtag` is the same program as `seqtag` (so `torchrun -m seqtag train` works)."""

from seqtag.cli.commands import main

if __name__ == "__main__":
    main()
