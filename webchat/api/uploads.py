"""/api's picture endpoints: an image uploaded as the raw body (sniffed, within the
browser's quota), and served back to the browser that owns it.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request, session

from ..store.retention import QuotaExceeded, Quotas
from ..store.uploads import store_upload
from ..validation import InvalidInput, sniff_image
from .helpers import app_services

uploads_bp = Blueprint("uploads", __name__)


@uploads_bp.post("/uploads")
def upload() -> Any:
    """One image as the raw request body; the chat frame then names it by id."""
    services = app_services()
    limit = services.config["MAX_IMAGE_BYTES"]
    size = request.content_length
    if size is None:
        raise InvalidInput("Send the image as the request body, with its length")
    if size > limit:
        return jsonify(error=f"The image is {size / 1048576:.1f} MB; the limit is "
                             f"{limit / 1048576:.1f} MB."), 413
    data = request.get_data(cache=False)
    mime = sniff_image(data)
    if mime is None:
        return jsonify(error="Only PNG, JPEG, WebP or GIF images can be attached."), 415
    try:
        upload_id = store_upload(services.sessions.db, session["sid"], mime, data,
                                 Quotas.from_config(services.config))
    except QuotaExceeded as exc:
        return jsonify(error=str(exc)), 413
    return {"id": upload_id, "mime": mime, "size": len(data)}, 201


@uploads_bp.get("/uploads/<upload_id>")
def uploaded(upload_id: str) -> Any:
    found = app_services().sessions.uploads.upload(session["sid"], upload_id)
    if found is None:
        return jsonify(error="No such image in this browser"), 404
    mime, data = found
    return Response(data, mimetype=mime, headers={"Cache-Control": "private, max-age=86400"})
