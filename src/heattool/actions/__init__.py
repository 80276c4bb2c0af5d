"""One module per command: each arranges schemas, rules and the store and returns a result.

No SQL (that is store/) and no rendering (that is cli/render.py) here.
"""
