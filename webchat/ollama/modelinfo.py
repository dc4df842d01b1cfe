"""What `/api/show` says about a model, in the few facts the page shows and acts on."""

from __future__ import annotations

from typing import Any


def describe_show(name: str, show: dict[str, Any]) -> dict[str, Any]:
    """Family, size, quantization, trained context length, capabilities, the think
    levels the Think control offers (think_levels), and whether it runs on ollama.com.

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
        "think_levels": think_levels(show),
        "cloud": is_cloud(name, show),
        "parameters": show.get("parameters") or "",
        "modified_at": show.get("modified_at") or "",
    }


# What `think` may say: Ollama's api.ThinkValue takes a bool or one of these strings
# ("max" too since 0.22; the app offers the three every level model takes).
THINK_LEVELS = ("low", "medium", "high")
_HARMONY_FAMILIES = ("gptoss", "gpt-oss")


def think_levels(show: dict[str, Any]) -> list[str]:
    """The levels a model thinks at, or [] for one that thinks on or off (or not at all).

    Ollama tells no client which models take levels; its server decides by
    `shouldUseHarmony` (server/routes.go, 0.32.15): family "gptoss"/"gpt-oss" and a template
    with harmony's `<|start|>` and `<|end|>` tags. Such a model (gpt-oss) reads `think` as
    "Reasoning: low|medium|high" and ignores true and false (its docs: the trace cannot be
    turned off). The same test here, on what /api/show gives, so a renamed copy counts.
    """
    details = show.get("details") or {}
    template = show.get("template") or ""
    capabilities = show.get("capabilities") or []
    harmony = (details.get("family") in _HARMONY_FAMILIES and isinstance(template, str)
               and "<|start|>" in template and "<|end|>" in template)
    return list(THINK_LEVELS) if harmony and "thinking" in capabilities else []


def think_to_send(wanted: bool | str | None, show: dict[str, Any]) -> bool | str | None:
    """The `think` to send, so that what the Think control says is what the model does.

    Ollama (since 0.12.4) makes a model that lists `thinking` think when `think` is left
    out, so off must be sent as false; true, or a level, to a model without the capability
    is a 400, so nothing is sent to one. A level model gets a level: the one asked for,
    "medium" (Ollama's own reading of true) when asked only to think, and "low", the least
    it does, when asked not to (false would be ignored: it would think at medium).
    `wanted`: True, False, a level, or None (never set: off, as the control shows it).
    """
    capabilities = show.get("capabilities") or []
    if "thinking" not in capabilities:
        return None
    levels = think_levels(show)
    if levels:
        if wanted in levels:
            return wanted
        return levels[0] if not wanted else "medium"
    return bool(wanted)


def is_cloud(name: str, entry: dict[str, Any]) -> bool:
    """Does Ollama serve this model from ollama.com, sending it the whole conversation?

    Such a model has `remote_host`/`remote_model` in /api/tags and /api/show, and its name
    usually says so: Ollama reads a last `:cloud` tag, or a tag ending in `-cloud`
    ("gpt-oss:120b-cloud"), as "run it in the cloud" (internal/modelref, 0.32.15).
    """
    if entry.get("remote_host") or entry.get("remote_model"):
        return True
    tag = name.rsplit("/", 1)[-1]
    if ":" not in tag:
        return False
    suffix = tag.rsplit(":", 1)[1].strip().lower()
    return suffix == "cloud" or suffix.endswith("-cloud")
