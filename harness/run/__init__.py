"""Running: settings, sampling with its cache and budget, and evaluating claims on a model."""
