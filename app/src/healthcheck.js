// Container health check: exits 0 when GET /healthz on this container answers 2xx, 1 otherwise.
// The slim Bun image has no curl or wget, so the runtime itself makes the request (Bun and
// Node >= 18 both have fetch). Used by the Dockerfile's HEALTHCHECK and usable as the ECS
// task definition's healthCheck command: ["CMD", "bun", "src/healthcheck.js"].

const port = process.env.PORT || "3000";
const url = `http://127.0.0.1:${port}/healthz`;
// Shorter than any sensible HEALTHCHECK --timeout, so we report a failure ourselves.
const TIMEOUT_MS = 2000;

try {
  const res = await fetch(url, { signal: AbortSignal.timeout(TIMEOUT_MS) });
  if (!res.ok) {
    console.error(`${url} answered ${res.status}`);
    process.exit(1);
  }
  process.exit(0);
} catch (err) {
  console.error(`${url} unreachable: ${err?.message ?? err}`);
  process.exit(1);
}
