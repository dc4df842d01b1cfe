// Where the message list is scrolled: whether it follows the end (`stick`), whether
// something new arrived below a reader further up (`unseen`), the "↓ Latest" button that
// says so, a search hit scrolled into the middle, and `aria-busy` while the list is still
// being drawn or placed. It owns those; what the list holds is chat.js's.

const NEAR_BOTTOM_PX = 48;
const SETTLE_FRAMES = 4; // frames the view follows the end after reaching it

export class PaneScroll {
  /**
   * @param {HTMLElement} container the scrolling message list
   * @param {HTMLButtonElement|null} jump the "to the latest message" button
   */
  constructor(container, jump = null) {
    this.container = container;
    this.jump = jump;
    this.jumpLabel = ""; // what the jump button shows now ("" while hidden)
    this.unseen = false; // something arrived below while the user read further up
    this.stick = true;
    this.settling = false; // see settleAtEnd
    this.drawing = false; // older messages still being added (see ChatView.render)
    container.addEventListener("scroll", () => {
      if (this.settling && this.stick) return; // heights arriving, not the user
      this.stick = this.nearBottom();
      if (this.stick) this.unseen = false;
      this.showJump();
    }, { passive: true });
    jump?.addEventListener("click", () => this.toLatest());
    // The pane shrinks when the banner or the system prompt box opens: stay at the end.
    new ResizeObserver(() => this.follow()).observe(container);
  }

  nearBottom(within = NEAR_BOTTOM_PX) {
    const c = this.container;
    return c.scrollHeight - c.scrollTop - c.clientHeight < within;
  }

  follow() {
    if (this.stick) this.container.scrollTop = this.container.scrollHeight;
  }

  /** Stop following the end: a reader's place (a search hit) is about to be shown. */
  release() {
    this.stick = false;
  }

  /** After a jump to the end from far away: messages not yet drawn there had an
   * estimated height (content-visibility), so arriving changes the heights around the
   * end. Follow it for a few frames, and do not take that scrolling for the user's. */
  settleAtEnd() {
    if (this.settling) return;
    this.settling = true;
    this.markBusy();
    let frames = 0;
    const check = () => {
      if (this.stick && !this.nearBottom(1)) {
        this.container.scrollTop = this.container.scrollHeight;
      }
      if (this.stick && ++frames < SETTLE_FRAMES) {
        requestAnimationFrame(check);
      } else {
        this.settling = false;
        this.markBusy();
      }
    };
    requestAnimationFrame(check);
  }

  /** aria-busy while the list is still being drawn or placed (also what tests wait on).
   * @param {boolean} [drawing] whether older messages are still being added */
  markBusy(drawing = this.drawing) {
    this.drawing = drawing;
    this.container.setAttribute("aria-busy", String(this.drawing || this.settling));
  }

  /** New content at the end: follow it, or tell a user who is reading further up. */
  grew() {
    if (this.stick) {
      this.follow();
    } else if (!this.unseen) {
      this.unseen = true;
      this.showJump();
    }
  }

  /** The button shows while the end is out of view, and says so when something new is
   * there. */
  showJump() {
    if (!this.jump) return;
    const label = this.stick ? "" : this.unseen ? "↓ New messages" : "↓ Latest";
    if (label === this.jumpLabel) return; // called on every scroll event: write on change
    this.jumpLabel = label;
    this.jump.hidden = !label;
    this.jump.classList.toggle("unseen", this.unseen);
    if (label) this.jump.textContent = label;
  }

  toLatest() {
    this.stick = true;
    this.unseen = false;
    this.follow();
    this.settleAtEnd();
    this.showJump();
  }

  /** Scroll `article` to the middle of the pane and highlight it for a moment (a search
   * hit). Heights settle as messages around it are drawn: keep it centred a few frames. */
  reveal(article) {
    this.stick = false;
    this.settling = false;
    this.markBusy();
    let frames = 0;
    const centre = () => {
      if (this.stick || !article.isConnected) return; // the user went to the end meanwhile
      article.scrollIntoView({ block: "center" });
      if (++frames < SETTLE_FRAMES) requestAnimationFrame(centre);
    };
    centre();
    article.classList.remove("found");
    void article.offsetWidth; // restart the highlight when the same hit is picked again
    article.classList.add("found");
    setTimeout(() => article.classList.remove("found"), 2500);
    article.tabIndex = -1;
    article.focus({ preventScroll: true });
    this.showJump();
  }
}
