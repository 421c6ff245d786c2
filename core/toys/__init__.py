"""Analytic problems beside the networks: 2-D surfaces and races, random walks, a convex problem, deep linear."""
