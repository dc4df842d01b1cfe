"""The one page."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, render_template

bp = Blueprint("pages", __name__)


@bp.get("/")
def index() -> Any:
    return render_template("index.html", max_history=current_app.config["MAX_HISTORY"],
                           max_image_bytes=current_app.config["MAX_IMAGE_BYTES"])
