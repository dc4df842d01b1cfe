// Numbers and times put the way a person reads them.

export function formatBytes(bytes) {
  if (typeof bytes !== "number" || !Number.isFinite(bytes) || bytes <= 0) return "";
  const gb = bytes / 1024 ** 3;
  if (gb >= 1) return `${gb.toFixed(1)} GB`;
  return `${Math.round(bytes / 1024 ** 2)} MB`;
}

export function formatMegabytes(mb) {
  if (typeof mb !== "number" || !Number.isFinite(mb)) return "";
  return `${mb.toFixed(1)} MB`;
}

/** A live countdown: "in 4:59", "in 0:30", "in 2 h 5 min", "expiring now". */
export function formatExpiry(model, now = Date.now()) {
  if (model.expires_never) return "never";
  if (!model.expires_at) return "unknown";
  const at = Date.parse(model.expires_at);
  if (Number.isNaN(at)) return "unknown";
  const seconds = Math.floor((at - now) / 1000);
  if (seconds <= 0) return "expiring now";
  if (seconds < 3600) {
    return `in ${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, "0")}`;
  }
  const minutes = Math.round(seconds / 60);
  const hours = Math.floor(minutes / 60);
  const rest = minutes % 60;
  return rest ? `in ${hours} h ${rest} min` : `in ${hours} h`;
}

/** When a message was written, short: "14:05" today, "25 Nov, 14:05" before. */
export function formatWhen(seconds, now = new Date()) {
  const at = new Date(seconds * 1000);
  const time = at.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" });
  if (at.toDateString() === now.toDateString()) return time;
  const sameYear = at.getFullYear() === now.getFullYear();
  const day = at.toLocaleDateString(undefined, sameYear
    ? { day: "numeric", month: "short" } : { day: "numeric", month: "short", year: "numeric" });
  return `${day}, ${time}`;
}

function milliseconds(ms) {
  return ms >= 1000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`;
}

/** The small line under a finished reply, from the `done` frame's stats. */
export function formatStats(stats, withHost = false) {
  if (!stats) return "";
  const parts = [];
  if (withHost && stats.host) parts.push(`on ${stats.host}`);
  if (typeof stats.eval_count === "number") parts.push(`${stats.eval_count} tokens`);
  if (typeof stats.tokens_per_second === "number") {
    parts.push(`${stats.tokens_per_second.toFixed(1)} tokens/s`);
  }
  if (typeof stats.first_token_ms === "number") {
    parts.push(`first token ${milliseconds(stats.first_token_ms)}`);
  }
  // The prompt, and how long Ollama took to read it: short when its cache held the start.
  if (typeof stats.prompt_eval_count === "number") {
    const read = typeof stats.prompt_eval_duration === "number"
      ? ` read in ${milliseconds(stats.prompt_eval_duration / 1e6)}` : "";
    parts.push(`prompt ${stats.prompt_eval_count} tokens${read}`);
  }
  // About 0.1 s when the model was loaded already; more means it had to load.
  if (typeof stats.load_duration === "number" && stats.load_duration / 1e9 > 0.25) {
    parts.push(`load ${(stats.load_duration / 1e9).toFixed(1)} s`);
  }
  if (!parts.length && typeof stats.elapsed_ms === "number") {
    parts.push(`${milliseconds(stats.elapsed_ms)}`);
  }
  return parts.join(" · ");
}

/** "1.2 GB of 2.0 GB" style progress for a download. */
export function formatProgress(completed, total) {
  if (!total) return "";
  const pct = Math.floor((completed / total) * 100);
  return `${formatBytes(completed) || "0 MB"} of ${formatBytes(total)} (${pct}%)`;
}
