"""Pure functions from (summarised) DataFrames to Altair charts, one module per family, plus PNG/SVG export."""
