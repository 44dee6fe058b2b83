// An outside agent at a table, seen in a real Chromium: the agent itself runs in a browser
// page (the browser's own WebSocket; Node 20 has none), joins an external seat over the agent
// protocol and plays; the watch page shows it by name, marked as an outside agent, while it
// plays; the console's agents page lists it.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { startStack, browser, openPage, eventually, SCREENSHOTS, TOKEN } from "./stack.mjs";

let stack;
let chromium;

before(async () => {
  stack = await startStack();
  chromium = await browser();
});

after(async () => {
  await chromium?.close();
  await stack?.stop();
});

/** Run in a page: registers, joins the table's open seat and plays check-or-call until the
 * table ends. */
async function agentScript({ name, tableId }) {
  {
    const post = async (path, body, key) => {
      const headers = { "Content-Type": "application/json" };
      if (key) headers.Authorization = `Bearer ${key}`;
      const response = await fetch(path, { method: "POST", headers, body: JSON.stringify(body) });
      return response.json();
    };
    const agent = await post("/v1/agents", { name });
    const seat = await post(`/v1/tables/${tableId}/join`, {}, agent.api_key);
    const ws = new WebSocket(`${seat.ws_url}?token=${seat.session_token}&format=agent`);
    let actions = 0;
    return new Promise((resolve, reject) => {
      ws.onmessage = (event) => {
        const message = JSON.parse(event.data);
        if (message.type === "game_state" && message.turn_token) {
          const check = (message.actions || []).some((a) => a.kind === "check");
          ws.send(JSON.stringify({ type: "action", expected_seq: message.seq,
            action: { turn_token: message.turn_token, kind: check ? "check" : "call" } }));
          actions += 1;
        }
        if (message.type === "table_status" && message.status === "ended") resolve({ actions, agent: agent.agent_id });
      };
      ws.onerror = () => reject(new Error("the agent's WebSocket failed"));
    });
  }
}

test("an outside agent plays a table and the watch page shows it as one", async () => {
  const created = await stack.admin("POST", "/v1/admin/simulations", {
    name: "Outside agent table", pace: "live", max_hands: 3, join_timeout_seconds: 60,
    agent_slots: [{ type: "external" }, { type: "random" }, { type: "tight" }],
    table_config: { blinds: { small: 5, big: 10 }, initialStack: 1000, actionTimeoutMs: 2000 },
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const run = await stack.admin("POST", `/v1/admin/simulations/${created.body.id}/start`);
  assert.equal(run.status, 201, JSON.stringify(run.body));
  const tableId = await eventually(async () => (await stack.admin("GET", `/v1/admin/simulations/runs/${run.body.id}`)).body.table_id,
    "the table to open");

  const agentPage = await openPage(chromium, `${stack.url}/skill.md`);
  const played = agentPage.evaluate(agentScript, { name: "Browser <Bot>", tableId });

  const watch = await openPage(chromium, `${stack.url}/watch/${tableId}`);
  const seat = watch.locator(".seat.external").first();
  await eventually(async () => (await seat.count()) > 0 && /Browser <Bot>/.test(await seat.textContent()),
    "the outside agent's seat", 60000);
  assert.match(await seat.locator(".kind").textContent(), /outside agent/);
  // The agent's name is text, not markup.
  assert.equal(await watch.locator(".seat.external .name b, .seat.external .name bot").count(), 0);
  await eventually(async () => (await watch.locator("#log li").allTextContents()).some((l) => l.includes("Browser <Bot>")),
    "the agent's actions in the log", 60000);
  await watch.screenshot({ path: join(SCREENSHOTS, "watch-outside-agent.png"), fullPage: true });

  const { actions, agent } = await played;
  assert.ok(actions > 0, "the agent acted");
  const done = await eventually(async () => {
    const r = (await stack.admin("GET", `/v1/admin/simulations/runs/${run.body.id}`)).body;
    return r.status !== "running" && r.status !== "queued" && r;
  }, "the run to end");
  assert.equal(done.status, "completed");
  assert.equal(done.results.agents[0].name, "Browser <Bot>");
  assert.deepEqual(watch.problems, []);

  // The console lists the agent, its table and no key.
  const console = await chromium.newPage({ viewport: { width: 1400, height: 900 } });
  await console.goto(`${stack.url}/admin/login?next=/admin/agents`);
  await console.fill("#token", TOKEN);
  await console.click("button[type=submit]");
  const row = console.locator(`tr[data-agent="${agent}"]`);
  await row.waitFor();
  assert.match(await row.textContent(), /Browser <Bot>/);
  assert.equal((await row.locator("td").nth(4).textContent()).trim(), "1", "tables played");
  await console.screenshot({ path: join(SCREENSHOTS, "console-agents.png"), fullPage: true });

  // Creating one shows its key once; after a reload it is gone from every page.
  await console.fill("#agent-name", "House bot");
  await console.click("#agent-form button[type=submit]");
  const notice = console.locator("#new-agent-key");
  await notice.waitFor({ state: "visible" });
  const key = (await notice.locator("code").textContent()).trim();
  assert.match(key, /^agk_/);
  await console.reload();
  assert.ok(!(await console.content()).includes(key), "the key is shown only once");
  // Revoking (confirmed) ends it: its key opens nothing.
  console.on("dialog", (dialog) => dialog.accept());
  const house = console.locator("tr", { hasText: "House bot" });
  await house.locator("button", { hasText: "Revoke" }).click();
  await eventually(async () => /revoked/.test(await console.locator("tr", { hasText: "House bot" }).textContent()),
    "the agent marked revoked");
  const refused = await fetch(`${stack.url}/v1/tables/auto-join`, {
    method: "POST", headers: { Authorization: `Bearer ${key}`, "Content-Type": "application/json" }, body: "{}",
  });
  assert.equal(refused.status, 401);
});
