// Persistence: what the page remembers across reloads (localStorage). A browser that
// refuses storage (private mode, full) just does not remember; nothing else changes.

export const KEYS = {
  model: "webchat.model", // the model last picked
  conversation: "webchat.conversation", // the conversation last on screen
  theme: "webchat.theme", // system, light or dark
  context: (model) => `webchat.context.${model}`, // the context it was loaded with last
  draft: (id) => `webchat.draft.${id || "new"}`, // what is typed in a conversation's composer
};

export class Store {
  read(key) {
    try {
      return localStorage.getItem(key) || "";
    } catch {
      return "";
    }
  }

  write(key, value) {
    try {
      localStorage.setItem(key, value);
    } catch {
      // private mode or storage full: the choice just is not remembered
    }
  }

  remove(key) {
    try {
      localStorage.removeItem(key);
    } catch {
      // nothing was remembered
    }
  }
}
