// A finished reply takes its stored place in the list where it was streamed. The
// history fetched after the reply has the truth (the reply's id, stats, versions, its
// actions; the user's message stored; the window marks moved by one exchange), and the
// list is updated in place from it: every message keeps its element, only what changed
// is drawn again, and the streamed text stays as drawn. Dropping the list and drawing it
// again from the history made the pane jump to the top and back after every reply
// (25–70 ms in Chromium and Firefox, up to 400 ms in WebKit).

/** What a message's drawing depends on: equal signatures draw the same element. */
export function signature(m, isLast) {
  return JSON.stringify([m.id, m.role, m.status, m.content, m.thinking, m.model, m.endpoint,
    m.in_context, m.window_reason, m.versions, m.images, m.error, m.stats, m.created_at,
    Boolean(m.request || m.has_request), isLast]);
}

/** `article` becomes `fresh`, staying the same element; its text and thinking stay as
 * drawn when `keepText` (the streamed reply's markdown, a reader's open thinking). */
function patch(article, fresh, keepText) {
  if (keepText) {
    for (const part of [":scope > .message-content", ":scope > .thinking"]) {
      const kept = article.querySelector(part);
      const drawn = fresh.querySelector(part);
      if (kept && drawn) drawn.replaceWith(kept);
    }
  }
  article.className = fresh.className;
  for (const key of Object.keys(article.dataset)) delete article.dataset[key];
  Object.assign(article.dataset, fresh.dataset);
  article.replaceChildren(...fresh.childNodes);
}

/**
 * Settle the reply that streamed into `streamed` from `messages`, the history after it;
 * false when the list is not those messages with that reply last (another tab wrote
 * meanwhile, the reply failed and was not stored): then the list is drawn again whole.
 * @param {{article: HTMLElement, text: string}} streamed the reply's element and text
 * @param {WeakMap<HTMLElement, string>} drawnAs each element's message signature
 * @param {(m: object, isLast: boolean) => HTMLElement} draw a message's element
 */
export function settleInPlace(container, messages, streamed, drawnAs, draw) {
  const articles = [...container.querySelectorAll(":scope > .message")];
  const count = messages.length;
  const last = messages[count - 1];
  if (!count || articles.length !== count || articles[count - 1] !== streamed.article
      || last.role !== "assistant") return false;
  for (let index = 0; index < count - 1; index++) {
    if (Number(articles[index].dataset.id) !== messages[index].id) return false;
  }
  messages.forEach((m, index) => {
    const article = articles[index];
    const isLast = index === count - 1;
    const drawn = signature(m, isLast);
    if (drawnAs.get(article) === drawn) return;
    const before = drawnAs.get(article);
    const sameText = article === streamed.article ? (m.content || "") === streamed.text
      : before !== undefined && JSON.parse(before)[3] === m.content;
    patch(article, draw(m, isLast), sameText);
    drawnAs.set(article, drawn);
  });
  return true;
}
