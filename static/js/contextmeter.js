// The sidebar's context meter, drawn: the prompt of the last reply against the context
// the model runs with, and how much of the conversation the next message sends.

export class ContextMeter {
  /** @param {{box: HTMLElement, meter: HTMLMeterElement, text: HTMLElement}} els */
  constructor(els) {
    this.els = els;
  }

  /**
   * @param {{used: number, size: number, source: string, reserve?: number, sent: number,
   *          total: number, trim: string}|null} context null hides the meter (nothing measured yet)
   */
  show(context) {
    const { box, meter, text } = this.els;
    if (!context) {
      box.hidden = true;
      return;
    }
    const { used, size, source, reserve, sent, total, trim } = context;
    box.hidden = false;
    const share = Math.min(1, used / size);
    meter.value = share;
    text.textContent = `${used.toLocaleString("en")} / ${size.toLocaleString("en")} tokens `
      + `(${Math.round(share * 100)}%)`;
    const kept = typeof reserve === "number"
      ? ` ${reserve.toLocaleString("en")} tokens are kept for the reply.` : "";
    meter.title = `Ollama read ${used.toLocaleString("en")} tokens of the last prompt; `
      + `the context is ${size.toLocaleString("en")} (${source}).${kept} `
      + `The next message is sent with ${sent} of ${total} messages `
      + `(trim: ${trim}).`;
    box.classList.toggle("context-full", share >= 0.85);
  }
}
