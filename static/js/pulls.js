// Downloads in progress (pushed `pull_progress` frames; also those another tab started),
// keyed by host and model, and whether this browser may manage models at all (a guest
// on a shared server may not: `locked` says why).

/** A download is of a model onto one host (several hosts) or the only one. */
function pullKey(frame) {
  return frame.host ? `${frame.host}|${frame.model}` : frame.model;
}

export class Pulls {
  #pulls = new Map(); // key -> last pull_progress frame
  #locked = ""; // why this browser may not manage models ("" = it may)

  get all() {
    return this.#pulls;
  }

  get locked() {
    return this.#locked;
  }

  progressed(frame) {
    this.#pulls.set(pullKey(frame), frame);
  }

  ended(frame) {
    this.#pulls.delete(pullKey(frame));
  }

  lock(reason) {
    this.#locked = reason || "";
  }
}
