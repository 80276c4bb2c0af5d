"""Reading uploads into Polars and writing exports; nothing else in heattool opens data files."""
