// The connection to the server: the socket that frames go out on, and whether it is
// open now and has ever been (a reopening catches up on what happened meanwhile).

export class Connection {
  #connected = false;
  #everConnected = false;

  /** @param {import("./socket.js").ChatSocket} socket */
  constructor(socket) {
    this.socket = socket;
  }

  get connected() {
    return this.#connected;
  }

  get everConnected() {
    return this.#everConnected;
  }

  connect() {
    this.socket.connect();
  }

  /** Send one frame; false when the socket is not open (nothing is queued). */
  send(frame) {
    return this.socket.send(frame);
  }

  /** The socket opened: true when it had been open before (a reconnection). */
  opened() {
    const again = this.#everConnected;
    this.#connected = true;
    this.#everConnected = true;
    return again;
  }

  /** The socket closed: true when it had been open. */
  closed() {
    const was = this.#connected;
    this.#connected = false;
    return was;
  }
}
