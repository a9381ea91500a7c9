"""Nothing may download at run time: pin the Hugging Face libraries to offline mode.

This runs when ``coproduce`` is first imported, before any model library is, because
``huggingface_hub`` and ``transformers`` read these variables once at their own import.
"""

import os

OFFLINE_VARIABLES = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "TOKENIZERS_PARALLELISM": "false",
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",  # keep model loading quiet in the CLI and logs
}


def enforce() -> None:
    """Set the offline variables, overriding anything a user's shell left switched on."""
    for name, value in OFFLINE_VARIABLES.items():
        os.environ[name] = value
