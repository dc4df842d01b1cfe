// The admin's switch on a shared server: may guests chat with models Ollama runs on
// ollama.com (each sends the whole conversation off this machine)? It owns that one
// checkbox: read from GET /api/me (`guests_cloud_models`, given to the admin of a shared
// server only) and written with PUT /api/cloud-models. It holds until the server stops.

import * as api from "./api.js";

export class CloudSwitch {
  /** @param {object} els `field` (shown to the admin only), `box` (the checkbox), `error` */
  constructor({ field, box, error }) {
    Object.assign(this, { field, box, error });
    box.addEventListener("change", () => this.#set(box.checked));
  }

  load() {
    api.getMe().then((me) => {
      const mine = typeof me.guests_cloud_models === "boolean";
      this.field.hidden = !mine;
      if (mine) this.box.checked = me.guests_cloud_models;
    }, () => {});
  }

  async #set(allowed) {
    this.error.hidden = true;
    this.box.disabled = true;
    try {
      const answer = await api.setGuestCloudModels(allowed);
      this.box.checked = answer.guests;
    } catch (err) {
      this.box.checked = !allowed; // as it was: the server did not change
      this.error.textContent = `Could not change it: ${err.message}`;
      this.error.hidden = false;
    } finally {
      this.box.disabled = false;
    }
  }
}
