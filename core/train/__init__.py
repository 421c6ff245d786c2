"""Everything that trains: the run, its bounded stores, the live worker, replays, optimizer comparisons, and the
summaries (thinned frames) the worker hands to the page."""
