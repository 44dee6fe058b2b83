// Liveness in the console, in a real Chromium against the real local stack: the schedule
// preview as the form is filled in, Start disabled while the run limit is reached, a run
// whose LLM key the provider refuses marked degraded (and the key flagged), and the health
// dashboard with its charts.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { join } from "node:path";
import { startStack, browser, openPage, eventually, TOKEN, SCREENSHOTS } from "./stack.mjs";

let stack;
let chromium;
let refusing;

/** An OpenAI-compatible server that refuses every key (401), as a provider does. */
function startRefusingModel() {
  const server = createServer((request, response) => {
    request.resume();
    request.on("end", () => {
      response.statusCode = 401;
      response.setHeader("content-type", "application/json");
      response.end(JSON.stringify({ error: { message: "Incorrect API key provided.", type: "invalid_request_error", code: "invalid_api_key" } }));
    });
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}

before(async () => {
  refusing = await startRefusingModel();
  stack = await startStack({
    SIMRUNNER_OPENAI_BASE_URL: `http://127.0.0.1:${refusing.address().port}/v1`,
    SIMRUNNER_MAX_CONCURRENT_RUNS: "1",
  });
  chromium = await browser();
});

after(async () => {
  await chromium?.close();
  await stack?.stop();
  refusing?.close();
});

async function shot(page, name) {
  await page.screenshot({ path: join(SCREENSHOTS, `liveness-${name}.png`), fullPage: true });
}

async function signedIn(path) {
  const page = await openPage(chromium, `${stack.url}${path}`);
  page.on("dialog", (dialog) => dialog.accept());
  await page.waitForURL(/\/admin\/login/);
  await page.fill("#token", TOKEN);
  await Promise.all([page.waitForURL((url) => !url.pathname.startsWith("/admin/login")), page.click("button[type=submit]")]);
  return page;
}

const TABLE = { blinds: { small: 5, big: 10 }, initialStack: 1000, actionTimeoutMs: 1000 };

test("the form previews a calendar's next starts and warns about what will not happen", async () => {
  const page = await signedIn("/admin/simulations/new");
  await page.selectOption("#repeat", "cron");
  await page.fill("#cron_expression", "0/10 * * * ? *");
  await page.fill("#time_zone", "Europe/Berlin");
  await page.fill("#cooldown_minutes", "15");
  const starts = page.locator("#preview-starts li");
  await eventually(async () => (await starts.count()) === 10, "ten start times");
  await eventually(async () => /cooling_down/.test(await page.textContent("#preview-warnings")), "the cooldown warning");
  await shot(page, "preview-calendar");
  await page.fill("#cron_expression", "0 8 * *");
  await eventually(async () => /six fields/.test(await page.textContent("#preview-warnings")), "the cron expression's error");
  // That answer was a 400, which the browser reports on its console: expected here.
  page.problems = [];
  await page.selectOption("#schedule_type", "always_on");
  assert.ok(await page.isHidden("#cron_expression"), "no cron for an always-on config");
  await page.fill("#windows", "08:00-23:00");
  await page.check("#handover");
  assert.equal(await page.inputValue("#cooldown_minutes"), "0", "handover leaves no cooldown");
  await eventually(async () => /handover needs a free run slot/.test(await page.textContent("#preview-warnings")), "the handover warning");
  await eventually(async () => (await starts.count()) > 0, "when the windows open");
  await shot(page, "preview-always-on");
  await page.close();
});

test("Start is disabled with the reason while the limit of active runs is reached", async () => {
  const busy = await stack.admin("POST", "/v1/admin/simulations", {
    name: "Busy table", schedule_type: "one_off", pace: "live", max_hands: 500,
    agent_slots: [{ type: "random" }, { type: "tight" }], table_config: TABLE,
  });
  const idle = await stack.admin("POST", "/v1/admin/simulations", {
    name: "Idle table", schedule_type: "one_off", pace: "fast", max_hands: 5,
    agent_slots: [{ type: "random" }, { type: "tight" }], table_config: TABLE,
  });
  const started = await stack.admin("POST", `/v1/admin/simulations/${busy.body.id}/start`);
  assert.equal(started.status, 201, JSON.stringify(started.body));
  const page = await signedIn(`/admin/simulations/${idle.body.id}`);
  assert.ok(await page.locator("#start").isDisabled(), "no slot is free");
  assert.match(await page.textContent("#start-blocked"), /the limit of 1 active runs is reached/);
  await shot(page, "start-disabled");
  await stack.admin("POST", `/v1/admin/simulations/${busy.body.id}/stop`);
  await eventually(async () => page.locator("#start").isEnabled(), "Start once the slot is free", 40000);
  assert.equal(await page.locator("#start-blocked").count(), 0);
  assert.deepEqual(page.problems, []);
  await page.close();
});

test("a run whose key the provider refuses is marked degraded, and the key flagged", async () => {
  const key = await stack.admin("POST", "/v1/admin/api-keys", { provider: "openai", label: "refused", key: "sk-refused-0123456789" });
  assert.equal(key.status, 201);
  const created = await stack.admin("POST", "/v1/admin/simulations", {
    name: "Refused key", schedule_type: "one_off", pace: "fast", max_hands: 5,
    agent_slots: [{ type: "protocol", model: "openai:gpt-4o-mini" }, { type: "tight" }], table_config: TABLE,
  });
  const started = await stack.admin("POST", `/v1/admin/simulations/${created.body.id}/start`);
  assert.equal(started.status, 201, JSON.stringify(started.body));
  await eventually(async () => {
    const run = await stack.admin("GET", `/v1/admin/simulations/runs/${started.body.id}`);
    return run.body.status === "completed" && run.body.degraded;
  }, "the run to end degraded", 40000);
  const page = await signedIn(`/admin/simulations/${created.body.id}`);
  assert.match(await page.textContent("#runs"), /degraded/);
  assert.match(await page.textContent("#runs"), /auth/);
  await shot(page, "degraded-run");
  await page.goto(`${stack.url}/admin/runs/${started.body.id}`);
  assert.ok(await page.locator("#degraded").isVisible());
  await page.goto(`${stack.url}/admin/keys`);
  assert.match(await page.textContent("#keys"), /refused/);
  await shot(page, "key-refused");
  assert.deepEqual(page.problems, []);
  await page.close();
});

test("the health dashboard shows the figures and draws its charts", async () => {
  const page = await signedIn("/admin/health");
  for (const period of ["24h", "7d"]) {
    const panel = page.locator(`#health-${period}`);
    assert.ok(await panel.isVisible(), period);
    assert.ok((await panel.locator("svg.chart rect").count()) > 0, `bars in ${period}`);
    assert.match(await panel.locator('[data-figure="failure-rate"]').textContent(), /%|—/);
  }
  assert.match(await page.textContent("#health-24h"), /Refused key/);
  await shot(page, "dashboard");
  // The seed's paths lead to the console's pages.
  await page.goto(`${stack.url}/admin/api-keys`);
  assert.match(page.url(), /\/admin\/keys$/);
  assert.deepEqual(page.problems, []);
  await page.close();
});
