"""log Z: annealed importance sampling and its references."""
