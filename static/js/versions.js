// The "‹ 2/3 ›" switcher on a message that has versions (an edited question, a
// regenerated reply: docs/protocol.md, Versions). Only draws; what a click does is the
// handler's (branches.js).

import { el } from "./dom.js";

/**
 * The switcher for stored message `m`, or null when it has a single version.
 * @param {{versions?: {index: number, count: number, ids: number[]}|null}} m
 * @param {(id: number, which: "prev"|"next") => void} onSwitch
 */
export function versionSwitcher(m, onSwitch) {
  const versions = m.versions;
  if (!versions || versions.count < 2) return null;
  const { index, count, ids } = versions;
  const group = el("span", "versions");
  group.setAttribute("role", "group");
  group.setAttribute("aria-label", `Version ${index} of ${count}`);
  const button = (which, text, label, target) => {
    const b = el("button", `version-button version-${which}`, text);
    b.type = "button";
    b.title = label;
    b.setAttribute("aria-label", label);
    b.disabled = target === undefined;
    b.addEventListener("click", () => onSwitch(target, which));
    return b;
  };
  const label = el("span", "version-label", `${index}/${count}`);
  label.setAttribute("aria-hidden", "true"); // the group's label says it in words
  group.append(button("prev", "‹", "Previous version", ids[index - 2]), label,
    button("next", "›", "Next version", ids[index]));
  return group;
}
