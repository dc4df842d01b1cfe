// The chat's toolbar, drawn: the title, the model picker, the endpoint and the think
// toggle (those two sit in the settings panel), the export menu and the model details
// button. Changes become named callbacks.

export class Toolbar {
  /**
   * @param {{title: HTMLElement, modelSelect: HTMLSelectElement,
   *          endpointSelect: HTMLSelectElement, thinkToggle: HTMLInputElement,
   *          exportMenu: HTMLDetailsElement, exportMd: HTMLAnchorElement,
   *          exportJson: HTMLAnchorElement, modelInfo: HTMLButtonElement}} els
   * @param {{onPick: (value: string) => void, onEndpoint: (endpoint: string) => void,
   *          onThink: (on: boolean|string) => void, onDetails: () => void,
   *          onShown?: () => void}} handlers (onShown: the endpoint shown changed)
   *   (els also thinkField, thinkLevel, thinkLevelField: the level picker)
   */
  constructor(els, handlers) {
    this.els = els;
    this.handlers = handlers;
    els.modelSelect.addEventListener("change", () => handlers.onPick(els.modelSelect.value));
    els.endpointSelect.addEventListener("change", () =>
      handlers.onEndpoint(els.endpointSelect.value));
    els.thinkToggle.addEventListener("change", () => handlers.onThink(els.thinkToggle.checked));
    els.thinkLevel.addEventListener("change", () => handlers.onThink(els.thinkLevel.value));
    els.modelInfo.addEventListener("click", () => handlers.onDetails());
    for (const link of [els.exportMd, els.exportJson]) {
      link.addEventListener("click", () => { els.exportMenu.open = false; });
    }
  }

  showTitle(title) {
    this.els.title.textContent = title || "New chat";
  }

  showPicked(value) {
    this.els.modelSelect.value = value;
  }

  showEndpoint(endpoint) {
    this.els.endpointSelect.value = endpoint;
    this.handlers.onShown?.();
  }

  get endpointChanged() {
    return this.els.endpointSelect.value !== "chat";
  }

  /**
   * @param {boolean|string} on the choice: on, off, or a level ("low", "medium", "high")
   * @param {string} model the current model ("" = none picked)
   * @param {string[]} levels the levels it thinks at (gpt-oss), [] for on/off: such a model
   *   cannot be turned off, so it is offered the levels, as the server sends it one
   *   (webchat/ollama/modelinfo.py think_to_send)
   */
  showThink(capable, on, model, levels = []) {
    const { thinkToggle: toggle, thinkField, thinkLevel, thinkLevelField } = this.els;
    thinkField.hidden = levels.length > 0;
    thinkLevelField.hidden = !levels.length;
    if (levels.length) thinkLevel.value = levels.includes(on) ? on : on ? "medium" : levels[0];
    toggle.disabled = !capable;
    toggle.checked = capable && Boolean(on);
    thinkField.title = capable
      ? "Show the model's reasoning (think: true); off sends think: false, or it thinks anyway"
      : `${model || "This model"} does not think out loud`;
  }

  /** @param {{md: string, json: string}|null} links none: nothing stored to export */
  showExport(links) {
    this.els.exportMenu.hidden = !links;
    if (!links) return;
    this.els.exportMd.href = links.md;
    this.els.exportJson.href = links.json;
  }
}
