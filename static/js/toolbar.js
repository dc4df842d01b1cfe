// The chat's toolbar, drawn: the title, the model picker, the endpoint, the think
// toggle, the export menu and the model details button. Changes become named callbacks.

export class Toolbar {
  /**
   * @param {{title: HTMLElement, modelSelect: HTMLSelectElement,
   *          endpointSelect: HTMLSelectElement, thinkToggle: HTMLInputElement,
   *          exportMenu: HTMLDetailsElement, exportMd: HTMLAnchorElement,
   *          exportJson: HTMLAnchorElement, modelInfo: HTMLButtonElement}} els
   * @param {{onPick: (value: string) => void, onEndpoint: (endpoint: string) => void,
   *          onThink: (on: boolean) => void, onDetails: () => void}} handlers
   */
  constructor(els, handlers) {
    this.els = els;
    els.modelSelect.addEventListener("change", () => handlers.onPick(els.modelSelect.value));
    els.endpointSelect.addEventListener("change", () =>
      handlers.onEndpoint(els.endpointSelect.value));
    els.thinkToggle.addEventListener("change", () => handlers.onThink(els.thinkToggle.checked));
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
  }

  /** @param {string} model the current model ("" = none picked) */
  showThink(capable, on, model) {
    const toggle = this.els.thinkToggle;
    toggle.disabled = !capable;
    toggle.checked = capable && on;
    toggle.closest("label").title = capable
      ? "Ask the model to show its reasoning (think: true)"
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
