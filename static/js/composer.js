// The input box: Enter sends, Shift+Enter breaks the line; Send and Stop buttons;
// images attached with the button or pasted, uploaded at once and sent by id.

import { uploadImage } from "./api.js";

const IMAGE_TYPES = ["image/png", "image/jpeg", "image/webp", "image/gif"];
const MAX_IMAGES = 4;
// A phone or a touch screen gets the short placeholder: no keyboard hints in three lines.
const SHORT = window.matchMedia("(max-width: 760px), (pointer: coarse)");
// Where the engine cannot size the box to its text (WebKit), the script grows it.
const GROWS_BY_ITSELF = globalThis.CSS?.supports?.("field-sizing", "content") ?? false;

function megabytes(bytes) {
  return `${(bytes / 1048576).toFixed(1)} MB`;
}

export class Composer {
  /**
   * @param {{form: HTMLFormElement, input: HTMLTextAreaElement, send: HTMLButtonElement,
   *          stop: HTMLButtonElement}} els
   * @param {{onSend: (text: string) => boolean, onStop: () => void,
   *          onType?: (text: string) => void}} handlers `onType`: the text as typed now
   */
  constructor(els, handlers) {
    this.els = els;
    this.handlers = handlers;
    this.images = []; // {id, url, name, uploading}
    this.maxImageBytes = Number(document.body.dataset.maxImageBytes) || 8 * 1048576;
    this.canAttach = false;
    // Why Send is blocked, or why the last Enter sent nothing: said in words beside it,
    // not only in a tooltip (made here so the page's markup stays as it is).
    this.reason = document.createElement("p");
    this.reason.id = "send-reason";
    this.reason.className = "hint send-reason";
    this.reason.dataset.testid = "send-reason";
    this.reason.setAttribute("role", "status");
    this.reason.hidden = true;
    els.attachReason.before(this.reason);
    els.send.setAttribute("aria-describedby", "send-reason");
    this.blockedWhy = ""; // the line says it only when Ollama is down (see #showReason)
    this.ollamaDown = false;
    this.notSentWhy = "";
    els.attach.addEventListener("click", () => {
      if (this.canAttach) els.attachFile.click();
      else this.showAttachError(els.attachReason.textContent); // why, where it shows
    });
    els.attachFile.addEventListener("change", () => {
      this.addFiles([...els.attachFile.files]);
      els.attachFile.value = "";
    });
    els.input.addEventListener("paste", (event) => {
      const files = [...(event.clipboardData?.files || [])].filter((f) =>
        f.type.startsWith("image/"));
      if (!files.length) return;
      event.preventDefault();
      this.addFiles(files);
    });
    els.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.submit();
    });
    els.input.addEventListener("input", () => this.handlers.onType?.(els.input.value));
    els.input.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        this.submit();
      }
    });
    els.stop.addEventListener("click", () => {
      els.stop.disabled = true;
      this.handlers.onStop();
    });
    this.longPlaceholder = els.input.placeholder;
    this.showPlaceholder();
    SHORT.addEventListener("change", () => this.showPlaceholder());
    if (!GROWS_BY_ITSELF) els.input.addEventListener("input", () => this.grow());
  }

  showPlaceholder() {
    const input = this.els.input;
    input.placeholder = SHORT.matches ? input.dataset.shortPlaceholder : this.longPlaceholder;
  }

  /** Fit the box to its text, up to its CSS max-height (only without field-sizing). */
  grow() {
    if (GROWS_BY_ITSELF) return;
    const input = this.els.input;
    input.style.height = "auto";
    const max = parseFloat(getComputedStyle(input).maxHeight) || Infinity;
    input.style.height = `${Math.min(input.scrollHeight + 2, max)}px`;
  }

  submit() {
    const text = this.els.input.value;
    if (!text.trim() || this.els.send.disabled || this.els.send.hidden) return;
    if (this.images.some((image) => image.uploading)) {
      this.showAttachError("Wait a moment: an image is still uploading.");
      return;
    }
    const images = this.images.map((image) => ({ id: image.id, url: image.url }));
    if (this.handlers.onSend(text, images)) {
      this.notSent("");
      this.els.input.value = "";
      this.grow();
      this.images = [];
      this.renderAttachments();
    }
  }

  // -- images ---------------------------------------------------------------------

  /** Enable attaching for a vision model; otherwise say why it is off — on the button
   * (its title and description), and under the input when it is pressed or an image is
   * pasted. Off, the button stays focusable (`aria-disabled`): a disabled one kept its
   * reason in a tooltip that neither the keyboard nor a touch could reach. */
  setVision(enabled, reason) {
    this.canAttach = enabled;
    this.els.attach.setAttribute("aria-disabled", String(!enabled));
    this.els.attach.title = enabled ? "Attach an image (or paste one)" : reason;
    this.els.attachReason.textContent = enabled ? "" : reason;
    this.els.attachReason.hidden = true;
    if (enabled) this.showAttachError("");
  }

  showAttachError(message) {
    this.els.attachError.textContent = message || "";
    this.els.attachError.hidden = !message;
  }

  addFiles(files) {
    this.showAttachError("");
    if (!this.canAttach) {
      this.showAttachError(this.els.attachReason.textContent || "This model cannot see images.");
      return;
    }
    for (const file of files) {
      if (!IMAGE_TYPES.includes(file.type)) {
        this.showAttachError(`${file.name || "That file"} is not a PNG, JPEG, WebP or GIF image.`);
        continue;
      }
      if (file.size > this.maxImageBytes) {
        this.showAttachError(`${file.name || "The image"} is ${megabytes(file.size)}; `
          + `the limit is ${megabytes(this.maxImageBytes)}.`);
        continue;
      }
      if (this.images.length >= MAX_IMAGES) {
        this.showAttachError(`At most ${MAX_IMAGES} images per message.`);
        break;
      }
      const image = { id: "", url: URL.createObjectURL(file), name: file.name, uploading: true };
      this.images.push(image);
      uploadImage(file).then((body) => {
        image.id = body.id;
        image.uploading = false;
        this.renderAttachments();
      }, (err) => {
        this.removeImage(image);
        this.showAttachError(`Could not attach ${file.name || "the image"}: ${err.message}`);
      });
    }
    this.renderAttachments();
  }

  removeImage(image) {
    this.images = this.images.filter((other) => other !== image);
    this.renderAttachments();
  }

  renderAttachments() {
    const list = this.els.attachments;
    list.hidden = !this.images.length;
    list.replaceChildren(...this.images.map((image) => {
      const item = document.createElement("li");
      item.className = "attachment";
      if (image.uploading) item.classList.add("uploading");
      const img = document.createElement("img");
      img.src = image.url;
      img.alt = image.name || "Attached image";
      const remove = document.createElement("button");
      remove.type = "button";
      remove.className = "attachment-remove";
      remove.textContent = "✕";
      remove.setAttribute("aria-label", `Remove ${image.name || "this image"}`);
      remove.addEventListener("click", () => this.removeImage(image));
      item.append(img, remove);
      return item;
    }));
  }

  /** Another conversation's draft (or none) in the box. */
  showText(text) {
    this.els.input.value = text || "";
  }

  /** Give back text the server refused, unless something new was typed meanwhile. */
  restore(text) {
    if (!this.els.input.value.trim()) {
      this.els.input.value = text;
      this.grow();
    }
  }

  /** @param {{connected: boolean, replying: boolean, blocked?: boolean,
   *   ollamaDown?: boolean}} state `blocked`: a reply runs in another conversation;
   *   `ollamaDown`: WebChat answers, Ollama does not, so nothing could be answered. */
  update({ connected, replying, blocked = false, ollamaDown = false }) {
    this.els.send.hidden = replying;
    this.els.send.disabled = !connected || blocked || ollamaDown;
    this.blockedWhy = !connected ? "Not connected to the server"
      : blocked ? "Wait for the reply in the other conversation, or go there to stop it"
        : ollamaDown ? "Send waits for Ollama: it does not answer (see the banner above)"
          : "";
    this.els.send.title = this.blockedWhy;
    this.ollamaDown = connected && ollamaDown;
    this.els.stop.hidden = !replying;
    if (!replying) this.els.stop.disabled = false;
    this.#showReason();
  }

  /** Why the last message was not sent (e.g. a parameter that is not a number); "" once
   * one is sent, or the conversation changes. */
  notSent(why) {
    this.notSentWhy = why || "";
    this.#showReason();
  }

  #showReason() {
    // A reconnect is told by the badge and its note, a reply elsewhere by the line above
    // the input: this line adds Ollama being down, and why a message was not sent.
    const text = this.notSentWhy || (this.ollamaDown && !this.els.send.hidden
      ? this.blockedWhy : "");
    this.reason.textContent = text;
    this.reason.hidden = !text;
    this.reason.classList.toggle("send-refused", Boolean(this.notSentWhy));
  }

  focus() {
    this.els.input.focus();
  }
}
