// Sample workload deployed by ecs-reconciler: an Express app that runs under Bun in the
// container image and under Node.js for local development (no Bun-only APIs are used).
//
//   GET /         "Hello world" (text/plain)
//   GET /cpu      burns CPU for ?ms= milliseconds (default 200, capped) to drive the
//                 target-tracking autoscaling demo; answers JSON with the time burned
//   GET /healthz  200 {"status":"ok"}: the ALB target group and container health check
//
// Environment: PORT (default 3000), CPU_MAX_MS (cap for /cpu, default 5000).

import express from "express";

const DEFAULT_PORT = 3000;
const DEFAULT_CPU_MS = 200;
const DEFAULT_CPU_MAX_MS = 5000;
// How long in-flight requests get to finish after SIGTERM before we give up. ECS sends
// SIGKILL after the task's stopTimeout (30 s by default), so stay well inside it.
const SHUTDOWN_GRACE_MS = 10_000;

/** Parses a non-negative integer setting, or returns the fallback when it is unset. */
function intSetting(name, raw, fallback) {
  if (raw === undefined || raw === "") return fallback;
  if (!/^\d+$/.test(raw)) {
    throw new Error(`${name} must be a non-negative integer, got ${JSON.stringify(raw)}`);
  }
  return Number(raw);
}

const port = intSetting("PORT", process.env.PORT, DEFAULT_PORT);
const cpuMaxMs = intSetting("CPU_MAX_MS", process.env.CPU_MAX_MS, DEFAULT_CPU_MAX_MS);

/**
 * Spins on the event loop's thread for `ms` milliseconds and returns the time actually spent.
 * Blocking is deliberate: one task's CPU use is what CloudWatch sees and the scaling policy
 * reacts to, and a busy loop is the most predictable way to produce it. The cap keeps a
 * single request from wedging a task past the ALB's idle timeout.
 */
function burnCpu(ms) {
  const start = performance.now();
  let x = 0;
  while (performance.now() - start < ms) {
    // Real arithmetic, so the loop body cannot be optimised away.
    x = (x + Math.sqrt(x + 1)) % 1e9;
  }
  return performance.now() - start;
}

const app = express();
// Don't advertise the framework in every response.
app.disable("x-powered-by");

app.get("/", (_req, res) => {
  res.type("text/plain").send("Hello world");
});

app.get("/cpu", (req, res) => {
  const raw = req.query.ms;
  let requestedMs = DEFAULT_CPU_MS;
  if (raw !== undefined) {
    // Only a single plain integer is accepted (?ms=50); ?ms=abc, ?ms=-1, ?ms=1&ms=2 are 400s.
    if (typeof raw !== "string" || !/^\d+$/.test(raw)) {
      res.status(400).json({ error: "ms must be a non-negative integer" });
      return;
    }
    requestedMs = Number(raw);
  }
  const ms = Math.min(requestedMs, cpuMaxMs);
  const burnedMs = burnCpu(ms);
  res.json({
    requestedMs,
    ms,
    capped: ms < requestedMs,
    maxMs: cpuMaxMs,
    burnedMs: Math.round(burnedMs * 1000) / 1000,
  });
});

app.get("/healthz", (_req, res) => {
  // Liveness only: this app has no dependencies whose failure should pull it from the ALB.
  res.set("Cache-Control", "no-store").json({ status: "ok" });
});

// Unknown routes get JSON rather than Express's default HTML page.
app.use((req, res) => {
  res.status(404).json({ error: "not found", path: req.path });
});

// Last-resort error handler: log the detail, never leak a stack trace to the client.
app.use((err, _req, res, _next) => {
  console.error("unhandled error:", err);
  res.status(500).json({ error: "internal server error" });
});

const server = app.listen(port, () => {
  const runtime = typeof Bun === "undefined" ? `node ${process.version}` : `bun ${Bun.version}`;
  console.log(`listening on port ${server.address().port} (${runtime})`);
});

let shuttingDown = false;

/**
 * ECS stops a task by deregistering it from the target group, waiting out the deregistration
 * delay, then sending SIGTERM. By then no new traffic arrives, so: stop accepting connections,
 * let in-flight requests finish, and exit 0 so the stop is recorded as clean.
 */
function shutdown(signal) {
  if (shuttingDown) return;
  shuttingDown = true;
  console.log(`${signal} received, closing server`);
  // Force-exit if something (a hung keep-alive client, say) holds the server open too long.
  setTimeout(() => {
    console.error(`connections still open after ${SHUTDOWN_GRACE_MS} ms, exiting anyway`);
    process.exit(1);
  }, SHUTDOWN_GRACE_MS).unref();
  server.close((err) => {
    if (err) {
      console.error("error while closing server:", err);
      process.exit(1);
    }
    console.log("server closed, exiting");
    process.exit(0);
  });
  // Idle keep-alive sockets would otherwise keep close() waiting (Node < 19 and some runtimes).
  server.closeIdleConnections?.();
}

// As PID 1 in a container a process gets no default signal handlers, so these are required
// for `docker stop` / ECS StopTask to be graceful rather than a SIGKILL after the timeout.
process.on("SIGTERM", () => shutdown("SIGTERM"));
process.on("SIGINT", () => shutdown("SIGINT"));
