// The page's chrome, drawn: the connection badge, the two banners (the server, Ollama),
// the line above the input (where this browser's reply runs, or that Ollama is quiet),
// the conversation error line, the screen reader announcer and the sidebar drawer. It
// draws what it is given and decides nothing.

const NARROW = window.matchMedia("(max-width: 760px)");
const ANNOUNCE_MAX = 2000; // characters of a reply read out; the rest is on the page

export class Chrome {
  /**
   * @param {{connection: HTMLElement, serverBanner: HTMLElement, banner: HTMLElement,
   *          replyStatus: HTMLElement, replyStatusText: HTMLElement,
   *          replyGo: HTMLButtonElement, conversationError: HTMLElement,
   *          announcer: HTMLElement, sidebar: HTMLElement, backdrop: HTMLElement}} els
   * @param {{onGoToReply: () => void}} handlers
   */
  constructor(els, handlers) {
    this.els = els;
    els.replyGo.addEventListener("click", () => handlers.onGoToReply());
  }

  /** @param {boolean} connected the socket to WebChat is open
   *  @param {boolean} ollamaDown WebChat answers but Ollama behind it does not: not green */
  showConnected(connected, ollamaDown = false) {
    const state = !connected ? "reconnecting" : ollamaDown ? "degraded" : "connected";
    this.els.connection.dataset.state = state;
    this.els.connection.textContent = { reconnecting: "Reconnecting…",
      degraded: "Connected to WebChat · Ollama down", connected: "Connected" }[state];
  }

  /** A guest on a shared server is told so beside the connection badge, and what a
   * guest may do (the admin sees nothing: the page is theirs). */
  showRole(me) {
    let badge = document.getElementById("role-badge");
    if (me.role !== "guest") {
      if (badge) badge.hidden = true;
      return;
    }
    if (!badge) {
      badge = document.createElement("span");
      badge.id = "role-badge";
      badge.className = "role-badge";
      badge.dataset.testid = "role-badge";
      badge.tabIndex = 0; // the keyboard reaches what it says
      this.els.connection.before(badge);
    }
    const may = ["chat", "keep your own conversations",
      "unload a model nobody else is using"];
    if (me.manage_models) may.push("download and delete models");
    const said = `Guest: you can ${may.slice(0, -1).join(", ")} and ${may.at(-1)}.`
      + (me.manage_models ? "" : " Downloading and deleting models is the admin's.");
    badge.textContent = "Guest";
    badge.title = said;
    badge.setAttribute("aria-label", said);
    badge.setAttribute("role", "note");
    badge.hidden = false;
  }

  /** @param {string} text "" hides the line; `elsewhere`: it says where the reply runs
   * (with Go there), else it is a notice about this conversation's reply */
  showReplyStatus(text, elsewhere) {
    this.els.replyStatus.hidden = !text;
    this.els.replyStatus.classList.toggle("notice", Boolean(text) && !elsewhere);
    this.els.replyStatusText.textContent = text;
    this.els.replyGo.hidden = !elsewhere;
  }

  /** @param {{serverDown: boolean, ollamaDown: string}} reachability */
  showReachability({ serverDown, ollamaDown }) {
    this.els.serverBanner.hidden = !serverDown;
    this.els.banner.hidden = !ollamaDown;
    this.els.banner.textContent = ollamaDown ? `Ollama is unreachable: ${ollamaDown}` : "";
  }

  showConversationError(message) {
    this.els.conversationError.textContent = message || "";
    this.els.conversationError.hidden = !message;
  }

  /** Tell screen readers once, politely (a finished reply; never each streamed token). */
  announce(text) {
    this.els.announcer.textContent = text.length > ANNOUNCE_MAX
      ? `${text.slice(0, ANNOUNCE_MAX)}…` : text;
  }

  // -- the sidebar drawer (a column on a wide screen) ------------------------------

  toggleSidebar() {
    if (NARROW.matches) {
      const open = !document.body.classList.contains("sidebar-open");
      document.body.classList.toggle("sidebar-open", open);
      this.els.backdrop.hidden = !open;
      if (open) this.els.sidebar.querySelector("button")?.focus();
    } else {
      document.body.classList.toggle("sidebar-hidden");
    }
  }

  /** Show the sidebar (the drawer on a phone) if it is not showing. */
  openSidebar() {
    const open = NARROW.matches ? document.body.classList.contains("sidebar-open")
      : !document.body.classList.contains("sidebar-hidden");
    if (!open) this.toggleSidebar();
  }

  get drawerOpen() {
    return document.body.classList.contains("sidebar-open");
  }

  closeSidebarOnPhone() {
    if (NARROW.matches && this.drawerOpen) this.toggleSidebar();
  }

  /** On a phone the open drawer keeps Tab inside it, as a dialog does. */
  trapDrawerFocus(event) {
    if (event.key !== "Tab" || !NARROW.matches || !this.drawerOpen) return;
    const drawer = this.els.sidebar;
    const focusable = [...drawer.querySelectorAll(
      "button, input, select, textarea, a[href], summary, [tabindex]:not([tabindex='-1'])")]
      .filter((node) => !node.disabled && node.getClientRects().length);
    if (!focusable.length) return;
    const first = focusable[0];
    const last = focusable[focusable.length - 1];
    const inside = drawer.contains(document.activeElement);
    if (event.shiftKey && (document.activeElement === first || !inside)) {
      event.preventDefault();
      last.focus();
    } else if (!event.shiftKey && (document.activeElement === last || !inside)) {
      event.preventDefault();
      first.focus();
    }
  }
}

/** The inspector's Copy buttons (one listener for every dialog). */
export function copyFromDialog(event) {
  const button = event.target.closest?.("dialog .code-copy[data-copy]");
  if (!button) return;
  import("./clipboard.js").then(({ copyText }) =>
    copyText(document.getElementById(button.dataset.copy).textContent)).then((ok) => {
    button.textContent = ok ? "Copied" : "Copy failed";
    setTimeout(() => { button.textContent = "Copy"; }, 1500);
  });
}
