"""Pure functions of (network, θ, data): interpolation, straying, endpoints, curvature, spectra, planes, regions."""
