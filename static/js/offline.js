// Installable and reloadable offline: registers the service worker (/sw.js, served by the
// app) that keeps the page's own files. Without one (an insecure origin over the LAN,
// a browser without service workers) the page works as before, online only.

export function registerServiceWorker() {
  if (!("serviceWorker" in navigator) || !window.isSecureContext) return;
  const script = new URL("sw.js", document.baseURI);
  navigator.serviceWorker.register(script.href).catch(() => {
    // no cache for offline reloads; everything else works the same
  });
}
