"""One model, many spellings: the name Ollama itself means, so the fair-unload rules compare
models, not strings.

`gemma3:270m`, `GEMMA3:270m`, `library/gemma3:270m` and
`registry.ollama.ai/library/gemma3:270m` are one model to Ollama, and `gemma3` is
`gemma3:latest`. Compared as text they were four models, and a guest unloaded the model
another browser was using by spelling it differently. This follows Ollama's
types/model/name.go: `ParseName` reads `[scheme://][host/][namespace/]model[:tag]` from
the right and fills what is missing from `registry.ollama.ai/library/?:latest`;
`DisplayShortest` drops the host and namespace where they are those defaults; names
compare case-insensitively (`EqualFold`, ASCII letters only).
"""

from __future__ import annotations

DEFAULT_HOST = "registry.ollama.ai"
DEFAULT_NAMESPACE = "library"
DEFAULT_TAG = "latest"


def _ascii_lower(text: str) -> str:
    """Ollama's `downcase`: A-Z only, as its names hold only ASCII."""
    return "".join(chr(ord(c) + 32) if "A" <= c <= "Z" else c for c in text)


def canonical(name: str) -> str:
    """The shortest name Ollama shows for `name`, in lower case: equal for every spelling
    of one model (`Gemma3` and `registry.ollama.ai/library/gemma3:latest` both give
    `gemma3:latest`)."""
    text = name.strip()
    for scheme in ("http://", "https://"):
        if text.startswith(scheme):
            text = text[len(scheme):]
            break
    text = text.split("@", 1)[0]  # a digest names the same model
    head, tag = text, DEFAULT_TAG
    if text.rfind(":") > text.rfind("/"):
        head, tag = text.rsplit(":", 1)
    parts = head.split("/")
    model = parts[-1]
    namespace = parts[-2] if len(parts) >= 2 else DEFAULT_NAMESPACE
    host = "/".join(parts[:-2]) if len(parts) >= 3 else DEFAULT_HOST
    host, namespace = _ascii_lower(host), _ascii_lower(namespace)
    prefix = ""
    if host != DEFAULT_HOST:
        prefix = f"{host}/{namespace}/"
    elif namespace != DEFAULT_NAMESPACE:
        prefix = f"{namespace}/"
    return _ascii_lower(f"{prefix}{model}:{tag or DEFAULT_TAG}")


def same_model(first: str, second: str) -> bool:
    return canonical(first) == canonical(second)
