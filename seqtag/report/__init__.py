"""Studies of trained models: the HTML report (html), `compare` of kinds and learning curves, and `bench`.

May import anything in seqtag but seqtag.cli.
"""
