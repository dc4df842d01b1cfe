// Model output as markdown: parsed by marked, then sanitized by DOMPurify, then code
// blocks get a language label, a Copy button and (once the reply is whole) highlighting.
//
// Two walls: marked is told to print raw HTML as text, images as their alt text and
// unsafe links as plain text; DOMPurify then keeps only the tags markdown makes, with no
// `style` (the CSP has no 'unsafe-inline') and only http(s)/mailto links. The result is a
// DocumentFragment: model text never goes into innerHTML as a string.

import { Marked } from "../vendor/marked.esm.js";

const SAFE_URL = /^(?:https?:|mailto:)/i;
const LANGUAGE_CLASS = /^language-[\w#+.-]{1,40}$/;
const HIGHLIGHT_LIMIT = 100000; // characters of code; past this, plain text is faster

const ESCAPES = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

export function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => ESCAPES[c]);
}

function unescapeHtml(text) {
  const map = { "&amp;": "&", "&lt;": "<", "&gt;": ">", "&quot;": '"', "&#39;": "'" };
  return String(text).replace(/&(?:amp|lt|gt|quot|#39);/g, (e) => map[e]);
}

const marked = new Marked({
  gfm: true,
  breaks: true,
  async: false,
  renderer: {
    // Raw HTML, block or inline, is shown as the text it is.
    html({ text }) {
      return escapeHtml(text);
    },
    // No remote image ever loads: an image is its alt text.
    image({ text }) {
      return escapeHtml(unescapeHtml(text));
    },
    link({ href, title, tokens }) {
      const inner = this.parser.parseInline(tokens);
      if (!SAFE_URL.test(String(href || "").trim())) return inner;
      const titled = title ? ` title="${escapeHtml(title)}"` : "";
      return `<a href="${escapeHtml(href)}"${titled} target="_blank" rel="noopener noreferrer">${inner}</a>`;
    },
  },
});

const ALLOWED_TAGS = [
  "a", "b", "blockquote", "br", "code", "del", "em", "h1", "h2", "h3", "h4", "h5", "h6",
  "hr", "i", "input", "li", "ol", "p", "pre", "s", "span", "strong", "sub", "sup", "table",
  "tbody", "td", "th", "thead", "tr", "ul",
];
const PURIFY_CONFIG = {
  ALLOWED_TAGS,
  ALLOWED_ATTR: ["href", "title", "class", "align", "start", "type", "checked", "disabled"],
  FORBID_ATTR: ["style"],
  FORBID_TAGS: ["style", "img", "svg", "math", "form", "iframe", "object", "embed"],
  ALLOWED_URI_REGEXP: SAFE_URL,
  ALLOW_DATA_ATTR: false,
  RETURN_DOM_FRAGMENT: true,
};

let purifier = null;

function purify() {
  if (purifier) return purifier;
  const factory = globalThis.DOMPurify;
  if (typeof factory !== "function") throw new Error("DOMPurify did not load");
  purifier = factory(window);
  purifier.addHook("afterSanitizeAttributes", (node) => {
    if (node.nodeName === "A") {
      const href = node.getAttribute("href") || "";
      if (SAFE_URL.test(href.trim())) {
        node.setAttribute("target", "_blank");
        node.setAttribute("rel", "noopener noreferrer");
      } else {
        node.removeAttribute("href");
      }
    }
    if (node.hasAttribute?.("class")) {
      const keep = node.nodeName === "CODE" && LANGUAGE_CLASS.test(node.getAttribute("class"))
        || (node.nodeName === "SPAN" && /^hljs-[\w .-]+$/.test(node.getAttribute("class")));
      if (!keep) node.removeAttribute("class");
    }
    if (node.nodeName === "INPUT") {
      node.setAttribute("type", "checkbox");
      node.setAttribute("disabled", "");
    }
  });
  // target is not in ALLOWED_ATTR (model HTML never reaches here, but the wall stays);
  // the hook above sets it after the attribute pass.
  return purifier;
}

function sanitize(html) {
  return purify().sanitize(html, PURIFY_CONFIG);
}

// -- highlighting: loaded on first need, so a page without code never fetches it ------

const LANGUAGES = [
  "bash", "c", "cpp", "csharp", "css", "diff", "dockerfile", "go", "ini", "java",
  "javascript", "json", "kotlin", "makefile", "markdown", "php", "plaintext", "python",
  "ruby", "rust", "shell", "sql", "swift", "typescript", "xml", "yaml",
];
let highlighterPromise = null;
let highlighter = null;

export function loadHighlighter() {
  if (!highlighterPromise) {
    const base = new URL("../vendor/highlight/", import.meta.url);
    highlighterPromise = import(new URL("core.min.js", base).href).then(async (core) => {
      const hljs = core.default;
      const grammars = await Promise.all(LANGUAGES.map((name) =>
        import(new URL(`languages/${name}.min.js`, base).href)));
      grammars.forEach((grammar, i) => hljs.registerLanguage(LANGUAGES[i], grammar.default));
      hljs.configure({ ignoreUnescapedHTML: true });
      highlighter = hljs;
      return hljs;
    });
  }
  return highlighterPromise;
}

function highlightCode(code) {
  if (!highlighter || code.dataset.highlighted === "yes") return;
  const text = code.textContent;
  if (text.length > HIGHLIGHT_LIMIT) return;
  const match = /language-([\w#+.-]+)/.exec(code.className);
  const language = match && highlighter.getLanguage(match[1]) ? match[1] : null;
  const result = language
    ? highlighter.highlight(text, { language, ignoreIllegals: true })
    : highlighter.highlightAuto(text);
  // highlight.js escapes the code it wraps; DOMPurify checks it all the same.
  code.replaceChildren(sanitize(result.value));
  code.classList.add("hljs");
  code.dataset.highlighted = "yes";
}

function highlightAll(root) {
  const blocks = [...root.querySelectorAll("pre > code")];
  if (!blocks.length) return;
  if (highlighter) {
    blocks.forEach(highlightCode);
    return;
  }
  loadHighlighter().then(() => blocks.forEach((code) => code.isConnected && highlightCode(code)),
    () => {}); // offline copy missing: code stays plain
}

// -- code blocks ----------------------------------------------------------------------

function decorateCodeBlocks(fragment) {
  for (const pre of fragment.querySelectorAll("pre")) {
    const code = pre.querySelector("code");
    const match = code && /language-([\w#+.-]+)/.exec(code.className);
    const wrapper = document.createElement("div");
    wrapper.className = "code-block";
    const head = document.createElement("div");
    head.className = "code-head";
    const label = document.createElement("span");
    label.className = "code-lang";
    label.textContent = match ? match[1] : "text";
    const copy = document.createElement("button");
    copy.type = "button";
    copy.className = "code-copy";
    copy.textContent = "Copy";
    copy.setAttribute("aria-label", "Copy this code");
    head.append(label, copy);
    pre.replaceWith(wrapper);
    wrapper.append(head, pre);
  }
}

/** A wide table scrolls sideways inside the message, as a code block does, instead of
 * squeezing its words letter by letter. */
function scrollTables(fragment) {
  for (const table of fragment.querySelectorAll("table")) {
    const wrapper = document.createElement("div");
    wrapper.className = "table-scroll";
    wrapper.tabIndex = 0; // a keyboard can scroll it too
    wrapper.setAttribute("role", "region");
    wrapper.setAttribute("aria-label", "Table (scrolls sideways)");
    table.replaceWith(wrapper);
    wrapper.append(table);
  }
}

/**
 * Draw `text` as markdown into `target`, replacing what was there. `final` highlights
 * the code (skipped while a reply streams: it is redrawn every frame).
 */
export function renderMarkdown(target, text, { final = true } = {}) {
  const fragment = sanitize(marked.parse(String(text || "")));
  decorateCodeBlocks(fragment);
  scrollTables(fragment);
  target.replaceChildren(fragment);
  if (final) highlightAll(target);
}
