"""/api's model endpoints: installed and loaded models, hosts, show, load, unload, delete,
downloads, and what this browser may do with them (/api/me).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, request, session

from ..guard.peers import client_address
from ..guard.roles import (
    ADMIN,
    FORBIDDEN,
    Forbidden,
    cap_keep_alive,
    lan_bound,
    may_manage_models,
    require_model_rights,
    role,
)
from ..models.loaded import loaded_state
from ..ollama.hosts import Host, UnknownHost
from ..ollama.modelinfo import describe_show, is_cloud
from ..validation import InvalidInput, validate_model_name
from .helpers import app_services, json_object

models_bp = Blueprint("models", __name__)


@models_bp.get("/models")
def models() -> Any:
    """Installed models, once per host that has each; with several hosts, `hosts` says
    which are up. `cloud`: Ollama runs it on ollama.com (the conversation leaves the
    machine)."""
    hosts = app_services().hosts
    listed, answers = hosts.models()
    listed = [{**model, "cloud": is_cloud(str(model.get("name") or ""), model)}
              for model in listed]
    return {"models": listed, **({"hosts": hosts.summary(answers)} if hosts.several else {})}


@models_bp.get("/loaded")
def loaded() -> Any:
    return loaded_state(app_services().hosts)


@models_bp.get("/hosts")
def hosts() -> Any:
    """Each Ollama host: URL, label, up, version, the error when down, what it holds."""
    return {"hosts": app_services().hosts.status()}


def _host_arg(value: Any) -> Host | None:
    try:
        return app_services().hosts.pick(value)
    except UnknownHost as exc:
        raise InvalidInput(str(exc)) from None


def _model_op() -> None:
    """Count a model operation against this browser and its address (429 past them)."""
    app_services().model_op(session["sid"], client_address())


@models_bp.get("/show")
def show() -> Any:
    name = validate_model_name(request.args.get("model"))
    _model_op()
    hosts = app_services().hosts
    host = hosts.route(name, _host_arg(request.args.get("host")))
    return {**describe_show(name, host.client.show_model(name)), "host": host.label}


@models_bp.post("/unload")
def unload() -> Any:
    body, name = _model_body()
    _model_op()
    host = _host_arg(body.get("host"))
    if not may_manage_models(role()) and app_services().usage.others_using(
            session["sid"], name, host.label if host is not None else ""):
        raise Forbidden(f"Another browser is using {name}: only the admin may unload it "
                        f"now.")
    result = app_services().models.unload(name, host)
    return {"unloaded": result["model"], "gone": result["unloaded"],
            "deferred": result["deferred"], "was_loaded": result["was_loaded"],
            "message": result["text"], "host": result["host"], "hosts": result["hosts"]}


@models_bp.post("/load")
def load() -> Any:
    """Load a model now, before the first message (the page calls it on a pick)."""
    body, name = _model_body()
    _model_op()
    services = app_services()
    if services.config["NO_PRELOAD"]:
        return jsonify(error="Preloading is turned off on this server (--no-preload)"), 409
    keep_alive = None
    if body.get("conversation") is not None:
        sid = session["sid"]
        cid = services.sessions.conversations.resolve(sid, body["conversation"])
        settings = services.sessions.conversations.conversation(sid, cid).settings
        keep_alive = settings.get("keep_alive")
    return services.models.preload(session["sid"], name, cap_keep_alive(keep_alive, role()),
                            _host_arg(body.get("host")))


@models_bp.delete("/models")
def delete_model() -> Any:
    require_model_rights(role())
    body = json_object()
    name = validate_model_name(body.get("model"))
    _model_op()
    services = app_services()
    host = _host_arg(body.get("host"))
    if host is None:
        if services.hosts.several:
            raise InvalidInput("host: say which host to delete it from")
        host = services.hosts.primary
    if services.replying_with(name, host if services.hosts.several else None):
        raise InvalidInput(f"model: {name} is answering a message; stop it first")
    host.client.delete_model(name)
    host.forget()
    services.loaded_watch.poke()
    return {"deleted": name, **({"host": host.label} if services.hosts.several else {})}


@models_bp.get("/me")
def me() -> Any:
    """What this browser may do here, so the page can disable what it may not
    (`cloud_models`: chat with a model Ollama runs on ollama.com)."""
    who = role()
    manage = may_manage_models(who)
    guests_cloud = app_services().guest_cloud.allowed
    return {"role": who, "manage_models": manage, "reason": None if manage else FORBIDDEN,
            "cloud_models": who == ADMIN or guests_cloud,
            # the switch, for the admin of a server guests can reach
            **({"guests_cloud_models": guests_cloud}
               if who == ADMIN and lan_bound(app_services().config) else {}),
            "max_keep_alive": None if who == ADMIN else
            app_services().config.get("MAX_KEEP_ALIVE") or "30m"}


@models_bp.put("/cloud-models")
def cloud_models() -> Any:
    """The admin lets guests chat with cloud models, or stops them: `{"guests": bool}`.
    Until the server stops (webchat/guard/roles.py, GuestCloudModels)."""
    if role() != ADMIN:
        raise Forbidden("Only the admin of this shared server decides whether guests may "
                        "use cloud models.")
    body = json_object(' such as {"guests": true}')
    if not isinstance(body.get("guests"), bool):
        raise InvalidInput("guests: must be true or false")
    services = app_services()
    services.guest_cloud.allow(body["guests"])
    return {"guests": services.guest_cloud.allowed}


@models_bp.get("/pulls")
def pulls() -> Any:
    return {"pulls": app_services().pulls.running()}


def _model_body() -> tuple[dict[str, Any], str]:
    """The JSON body of an unload or load, and its checked model name."""
    body = json_object(' such as {"model": "gemma3:270m"}')
    return body, validate_model_name(body.get("model"))
