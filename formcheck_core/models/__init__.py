"""Locating, provisioning and checking model files (pose ``.task``; LLM GGUF in :mod:`.llm_model`)."""
