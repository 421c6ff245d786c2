"""`python -m core ...`: one module per command family, plus reading and writing run folders (rundir)."""
