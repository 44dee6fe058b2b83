// The real local stack for browser tests: `simrunner up` on a throwaway data folder (its own
// embedded PostgreSQL), no demo, a known admin token; and the system's Chromium.
import { spawn } from "node:child_process";
import { mkdtempSync, chmodSync, rmSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createServer } from "node:net";
import { chromium } from "playwright-core";

export const TOKEN = "browser-test-admin-token-0123456789";
export const SCREENSHOTS = process.env.SIMRUNNER_SCREENSHOTS || join(process.cwd(), "screenshots");
mkdirSync(SCREENSHOTS, { recursive: true });

function freePort() {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

export async function startStack(extraEnv = {}) {
  const binary = process.env.SIMRUNNER_BIN;
  if (!binary) throw new Error("SIMRUNNER_BIN must name the simrunner binary (infra/test.sh sets it)");
  const data = mkdtempSync(join(tmpdir(), "simrunner-browser-"));
  // The embedded PostgreSQL runs as `postgres` when the tests run as root.
  chmodSync(data, 0o755);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const env = {
    ...process.env, SIMRUNNER_DATA_DIR: data, SIMRUNNER_HTTP_ADDR: `127.0.0.1:${port}`,
    SIMRUNNER_ADMIN_TOKEN: TOKEN, SIMRUNNER_DEMO: "off", RUST_LOG: "warn", ...extraEnv,
  };
  // Its own embedded database, whatever the caller's environment says.
  delete env.DATABASE_URL;
  const child = spawn(binary, ["up"], { env, stdio: ["ignore", "ignore", "inherit"], detached: true });
  for (let i = 0; i < 200; i++) {
    try {
      if ((await fetch(`${url}/healthz`)).ok) break;
    } catch {}
    await new Promise((r) => setTimeout(r, 150));
  }
  const stop = async () => {
    try { process.kill(-child.pid, "SIGTERM"); } catch {}
    await new Promise((r) => { child.once("exit", r); setTimeout(r, 20000); });
    rmSync(data, { recursive: true, force: true });
  };
  const admin = async (method, path, body) => {
    const response = await fetch(`${url}${path}`, {
      method,
      headers: { Authorization: `Bearer ${TOKEN}`, "Content-Type": "application/json" },
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : null };
  };
  return { url, stop, admin };
}

export async function browser() {
  return chromium.launch({
    executablePath: process.env.SIMRUNNER_CHROMIUM || "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking"],
  });
}

/** A page that fails the test on any script error or failed request. */
export async function openPage(browserInstance, url) {
  const page = await browserInstance.newPage({ viewport: { width: 1400, height: 950 } });
  page.problems = [];
  page.on("pageerror", (error) => page.problems.push(`script error: ${error}`));
  page.on("console", (message) => {
    if (message.type() === "error") page.problems.push(`console: ${message.text()}`);
  });
  await page.goto(url);
  return page;
}

export async function eventually(check, what, timeoutMs = 30000) {
  const started = Date.now();
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** A console page signed in through the login form (dialogs accepted). */
export async function signIn(browserInstance, baseUrl, path = "/admin") {
  const page = await openPage(browserInstance, `${baseUrl}${path}`);
  page.on("dialog", (dialog) => dialog.accept());
  await page.waitForURL(/\/admin\/login/);
  await page.fill("#token", TOKEN);
  await Promise.all([page.waitForURL((url) => !url.pathname.startsWith("/admin/login")), page.click("button[type=submit]")]);
  return page;
}
