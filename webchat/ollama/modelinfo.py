"""What `/api/show` says about a model, in the few facts the page shows and acts on."""

from __future__ import annotations

from typing import Any


def describe_show(name: str, show: dict[str, Any]) -> dict[str, Any]:
    """Family, size, quantization, trained context length and capabilities.

    The context length is `model_info["<architecture>.context_length"]`; Ollama names
    the key after the architecture, which is usually but not always the family.
    """
    details = show.get("details") or {}
    info = show.get("model_info") or {}
    family = details.get("family") or info.get("general.architecture") or ""
    context = None
    for key in (f"{info.get('general.architecture', '')}.context_length",
                f"{family}.context_length"):
        if isinstance(info.get(key), int):
            context = info[key]
            break
    if context is None:
        context = next((v for k, v in info.items()
                        if k.endswith(".context_length") and isinstance(v, int)), None)
    capabilities = show.get("capabilities")
    return {
        "model": name,
        "family": family,
        "families": details.get("families") or ([family] if family else []),
        "format": details.get("format") or "",
        "parameter_size": details.get("parameter_size") or "",
        "quantization_level": details.get("quantization_level") or "",
        "context_length": context,
        "capabilities": [c for c in capabilities if isinstance(c, str)]
        if isinstance(capabilities, list) else ["completion"],
        "parameters": show.get("parameters") or "",
        "modified_at": show.get("modified_at") or "",
    }
