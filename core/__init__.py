"""The playground's headless core. Packages by role, imports only downward (checked by import-linter):

    cli        python -m core ...: one module per command family, run folders (rundir)
    presets    the paper's figures as small dicts of overrides
    train      the run, its stores, the live worker, replay, comparisons, summaries for display
    toys       analytic surfaces and races, random walks, a convex problem, deep linear
    probes     pure functions of (network, θ, data): interpolation, straying, curvature, spectra, planes
    model      config, data sets, networks, optimizers' update rules, device, run records: the registries
    charts     DataFrame -> alt.Chart (imports only core.frames); frames: pure pandas helpers
"""
