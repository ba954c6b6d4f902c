"""Model providers: embedded GGUF models (``local/``) and simulated ones (``sim/``)."""

SIMULATED_PREFIX = "sim/"


def is_simulated(model: str) -> bool:
    """Whether a model string names a simulated model."""
    return model.startswith(SIMULATED_PREFIX)
