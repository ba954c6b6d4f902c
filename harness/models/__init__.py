"""Model providers: embedded GGUF models (``local/``), simulated (``sim/``) and scripted
(``script/``) ones."""

SIMULATED_PREFIX = "sim/"
SCRIPTED_PREFIX = "script/"


def is_simulated(model: str) -> bool:
    """Whether a model string names a simulated or scripted model (not a real one)."""
    return model.startswith((SIMULATED_PREFIX, SCRIPTED_PREFIX))
