// Installable and reloadable offline: registers the service worker (/sw.js, served by the
// app) that keeps the page's own files. Without one (an insecure origin over the LAN,
// a browser without service workers) the page works as before, online only.

export function registerServiceWorker() {
  if (!("serviceWorker" in navigator) || !window.isSecureContext) return;
  const script = new URL("sw.js", document.baseURI);
  const register = () => navigator.serviceWorker.register(script.href).catch(() => {
    // no cache for offline reloads; everything else works the same
  });
  // After the page has loaded: the worker's downloads never compete with the first paint.
  if (document.readyState === "complete") register();
  else window.addEventListener("load", register, { once: true });
}
