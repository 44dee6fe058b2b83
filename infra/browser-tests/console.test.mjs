// The admin console in a real Chromium against the real local stack: sign-in and sign-out,
// creating a simulation through the form (a field error included), starting it, its logs
// arriving, stopping it, the emergency stop, provider keys (the full key in no page), text
// a user or a model wrote shown as text, and a cross-site POST refused.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { join } from "node:path";
import { startStack, browser, openPage, eventually, signIn, TOKEN, SCREENSHOTS } from "./stack.mjs";

const XSS = "<img src=x onerror=alert(1)>";
const FULL_KEY = "sk-console-test-FULLKEY-0123456789abcdef";

let stack;
let chromium;
let fakeModel;

/** An OpenAI-compatible server whose model always picks the first legal action and whose
 *  reasoning is HTML, to show the log viewer prints it as text. */
function startFakeModel() {
  const server = createServer((request, response) => {
    let body = "";
    request.on("data", (chunk) => (body += chunk));
    request.on("end", () => {
      const sent = JSON.parse(body || "{}");
      const schema = sent.response_format?.json_schema?.schema;
      const action = schema?.properties?.action?.enum?.[0] || "fold";
      const answer = { reasoning: `<b>bold</b> ${XSS}`, action, amount: null };
      response.setHeader("content-type", "application/json");
      response.end(JSON.stringify({
        id: "chatcmpl-fake", object: "chat.completion", model: sent.model,
        choices: [{ index: 0, finish_reason: "stop", message: { role: "assistant", content: JSON.stringify(answer) } }],
        usage: { prompt_tokens: 120, completion_tokens: 20, total_tokens: 140 },
      }));
    });
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}

before(async () => {
  fakeModel = await startFakeModel();
  stack = await startStack({
    SIMRUNNER_OPENAI_BASE_URL: `http://127.0.0.1:${fakeModel.address().port}/v1`,
    SIMRUNNER_MAX_CONCURRENT_RUNS: "4",
  });
  chromium = await browser();
});

after(async () => {
  await chromium?.close();
  await stack?.stop();
  fakeModel?.close();
});

async function shot(page, name) {
  await page.screenshot({ path: join(SCREENSHOTS, `console-${name}.png`), fullPage: true });
}

/** A page signed in through the login form. */
function signedIn(path = "/admin") {
  return signIn(chromium, stack.url, path);
}

function noProblems(page) {
  assert.deepEqual(page.problems, [], "no script errors on the page");
}

test("every console page needs a session; signing in and out works", async () => {
  for (const path of ["/admin", "/admin/keys", "/admin/simulations/new"]) {
    const response = await fetch(`${stack.url}${path}`, { redirect: "manual" });
    assert.equal(response.status, 303, path);
    assert.match(response.headers.get("location"), /^\/admin\/login\?next=/);
  }
  const page = await openPage(chromium, `${stack.url}/admin/keys`);
  await page.waitForURL(/\/admin\/login/);
  await shot(page, "login");
  await page.fill("#token", "not-the-token");
  await page.click("button[type=submit]");
  assert.match(await page.textContent("#login-error"), /invalid credentials/);
  // That answer was a 401, which the browser reports on its console: expected here.
  page.problems = [];
  await page.fill("#token", TOKEN);
  await Promise.all([page.waitForURL(/\/admin\/keys$/), page.click("button[type=submit]")]);
  const cookie = (await page.context().cookies()).find((c) => c.name === "simrunner_session");
  assert.ok(cookie.httpOnly, "HttpOnly");
  assert.equal(cookie.sameSite, "Strict");
  assert.ok(!(await page.content()).includes(TOKEN), "the token is not in the page");
  assert.ok(!page.url().includes(TOKEN), "nor in the URL");
  await Promise.all([page.waitForURL(/\/admin\/login$/), page.click("text=Sign out")]);
  await page.goto(`${stack.url}/admin`);
  await page.waitForURL(/\/admin\/login/);
  noProblems(page);
  await page.close();
});

test("a simulation is created through the form, started, its logs arrive, and it is stopped", async () => {
  const page = await signedIn("/admin");
  assert.match(await page.textContent("#sims"), /No simulations yet/);
  await shot(page, "empty-list");
  await page.click("text=New simulation");
  await page.waitForURL(/\/admin\/simulations\/new$/);
  await page.fill("#name", "Console table");
  await page.selectOption("#schedule_type", "one_off");
  assert.ok(await page.isHidden("#interval_minutes"), "no interval for a one-off");
  await page.fill("#max_hands", "30");
  await page.fill("#small_blind", "50");
  await page.fill("#big_blind", "10");
  await page.fill("#action_timeout", "1000");
  await page.fill("#agent_count", "3");
  assert.equal(await page.locator("#slots .slot").count(), 3, "one row per seat");
  assert.ok(await page.isHidden("#slots .slot >> nth=0 >> [data-slot=model]"), "bots have no model");
  await page.selectOption("#slots .slot >> nth=2 >> [data-slot=type]", "protocol");
  await page.fill("#slots .slot >> nth=2 >> [data-slot=model]", "openai:fake-model");
  assert.ok(await page.isVisible("#slots .slot >> nth=2 >> [data-slot=key-warning]"), "no openai key yet");
  await page.selectOption("#slots .slot >> nth=2 >> [data-slot=type]", "tight");
  await page.click("#simulation-form button[type=submit]");
  const error = page.locator('[data-error-for="table_config.blinds.big"]');
  await eventually(async () => (await error.textContent()).length > 0, "the field error");
  assert.match(await error.textContent(), /small blind/);
  // That answer was a 400, which the browser reports on its console: expected here.
  page.problems = [];
  await shot(page, "form-field-error");
  await page.fill("#big_blind", "100");
  await Promise.all([page.waitForURL(/\/admin\/simulations\/sim_/), page.click("#simulation-form button[type=submit]")]);
  await shot(page, "simulation-new");

  await page.goto(`${stack.url}/admin`);
  assert.match(await page.textContent("#sims"), /Console table/);
  assert.match(await page.textContent("#sims"), /tight ×2|tight, /);
  await page.click("text=Console table");
  await page.click("button:has-text('Start')");
  await eventually(async () => /running/.test(await page.textContent("#head")), "the run to show as running");
  const runLink = page.locator("#runs a.mono").first();
  await runLink.waitFor();
  await shot(page, "simulation-running");
  await Promise.all([page.waitForURL(/\/admin\/runs\/run_/), runLink.click()]);
  const entries = () => page.locator("#logs .log-entry").count();
  const first = await eventually(async () => (await entries()) || 0, "log entries");
  await eventually(async () => (await entries()) > first, "more log entries while the run is live");
  assert.match(await page.textContent("#logs"), /simulation-summary/);
  await shot(page, "run-logs");
  await page.goBack();
  await page.click("button:has-text('Stop')");
  await eventually(async () => /cancelled|completed/.test(await page.textContent("#runs")), "the run to end", 40000);
  assert.match(await page.textContent("#head"), /paused/);
  noProblems(page);
  await page.close();
});

test("provider keys: added through the form, masked, the full key in no page, deleted", async () => {
  const page = await signedIn("/admin/keys");
  assert.match(await page.textContent("#keys"), /No provider keys yet/);
  await page.selectOption("#provider", "openai");
  await page.fill("#label", "console test");
  await page.fill("#key", FULL_KEY);
  await page.click("button:has-text('Add key')");
  await eventually(async () => /\*\*\*\*cdef/.test(await page.textContent("#keys")), "the masked key");
  await shot(page, "keys");
  for (const path of ["/admin/keys", "/admin", "/admin/simulations/new"]) {
    await page.goto(`${stack.url}${path}`);
    assert.ok(!(await page.content()).includes(FULL_KEY), `the full key is not in ${path}`);
    assert.ok(!(await page.content()).includes("FULLKEY"), `nor any part of it in ${path}`);
  }
  await page.goto(`${stack.url}/admin/keys`);
  await page.click("#keys button:has-text('Delete')");
  await eventually(async () => /No provider keys yet/.test(await page.textContent("#keys")), "the key to go");
  noProblems(page);
  await page.close();
});

test("names and model answers with HTML in them are shown as text", async () => {
  const key = await stack.admin("POST", "/v1/admin/api-keys", { provider: "openai", label: XSS, key: FULL_KEY });
  assert.equal(key.status, 201);
  const created = await stack.admin("POST", "/v1/admin/simulations", {
    name: XSS, schedule_type: "one_off", pace: "live", max_hands: 3,
    agent_slots: [{ type: "protocol", model: "openai:fake-model" }, { type: "tight" }],
    table_config: { blinds: { small: 5, big: 10 }, initialStack: 1000, actionTimeoutMs: 2000 },
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const started = await stack.admin("POST", `/v1/admin/simulations/${created.body.id}/start`);
  assert.equal(started.status, 201, JSON.stringify(started.body));
  const page = await signedIn("/admin");
  let alerted = false;
  page.on("dialog", () => { alerted = true; });
  assert.ok((await page.textContent("#sims")).includes(XSS), "the name is shown as typed");
  assert.equal(await page.locator("#sims img").count(), 0, "and is not an element");
  await page.goto(`${stack.url}/admin/keys`);
  assert.ok((await page.textContent("#keys")).includes(XSS));
  await page.goto(`${stack.url}/admin/runs/${started.body.id}`);
  await eventually(async () => ((await page.textContent("#logs")) || "").includes(`<b>bold</b> ${XSS}`), "the model's answer in the logs", 40000);
  assert.equal(await page.locator("#logs img, #logs b").count(), 0, "the answer's HTML is text, not elements");
  await shot(page, "run-llm-logs");
  assert.equal(alerted, false, "no script from the data ran");
  noProblems(page);
  await page.close();
  await stack.admin("POST", `/v1/admin/simulations/${created.body.id}/stop`);
  await stack.admin("DELETE", `/v1/admin/api-keys/${key.body.id}`);
});

test("a POST from another origin is refused even with the session cookie", async () => {
  const created = await stack.admin("POST", "/v1/admin/simulations", {
    name: "Cross-site target", schedule_type: "periodic", interval_minutes: 60, pace: "live", max_hands: 500,
    agent_slots: [{ type: "random" }, { type: "tight" }],
    table_config: { blinds: { small: 5, big: 10 }, initialStack: 1000, actionTimeoutMs: 1000 },
  });
  const started = await stack.admin("POST", `/v1/admin/simulations/${created.body.id}/start`);
  assert.equal(started.status, 201, JSON.stringify(started.body));
  // Another port of the same host is another origin but the same site: the browser sends
  // the SameSite=Strict cookie, so only the origin check stands in the way.
  const evil = createServer((request, response) => {
    response.setHeader("content-type", "text/html");
    response.end(`<form id="f" method="post" action="${stack.url}/v1/admin/simulations/emergency-stop"></form>
      <script>document.getElementById("f").submit()</script>`);
  });
  await new Promise((resolve) => evil.listen(0, "127.0.0.1", resolve));
  const page = await signedIn("/admin");
  await page.goto(`http://127.0.0.1:${evil.address().port}/`);
  await page.waitForURL(/emergency-stop/);
  const answer = JSON.parse(await page.textContent("body"));
  assert.equal(answer.error.code, "forbidden", JSON.stringify(answer));
  const run = await stack.admin("GET", `/v1/admin/simulations/runs/${started.body.id}`);
  assert.ok(["queued", "running"].includes(run.body.status), "the run was not stopped");
  evil.close();
  await page.close();
});

test("the emergency stop says what it affects and stops everything", async () => {
  const page = await signedIn("/admin");
  const button = page.locator("#emergency-stop");
  assert.ok(await button.isEnabled(), "something is running");
  const confirmText = await button.getAttribute("data-confirm");
  assert.match(confirmText, /stop [1-9]\d* active runs? and pause 1 schedule\?/);
  await shot(page, "list-running");
  await button.click();
  await eventually(async () => {
    const list = await stack.admin("GET", "/v1/admin/simulations");
    return list.body.items.every((s) => !s.is_running && (s.schedule_type !== "periodic" || s.status === "paused"));
  }, "every run to stop and every schedule to pause", 40000);
  await page.reload();
  await eventually(async () => page.locator("#emergency-stop").isDisabled(), "the button to be disabled");
  noProblems(page);
  await page.close();
});
