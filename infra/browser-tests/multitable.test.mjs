// A multi-table run in a real Chromium against the real local stack: the run page lists its
// tables with their watch pages, /tables shows each one, and each watch page plays its own.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { startStack, browser, openPage, signIn, eventually, SCREENSHOTS } from "./stack.mjs";

let stack;
let chromium;
let runId;

before(async () => {
  stack = await startStack();
  const created = await stack.admin("POST", "/v1/admin/simulations", {
    name: "Three at once", pace: "live", max_hands: 40, tables: 3,
    agent_slots: [{ type: "random" }, { type: "tight" }, { type: "callstation" }],
    table_config: { blinds: { small: 5, big: 10 }, initialStack: 1000, actionTimeoutMs: 1000 },
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  assert.equal(created.body.tables, 3);
  const started = await stack.admin("POST", `/v1/admin/simulations/${created.body.id}/start`);
  assert.equal(started.status, 201, JSON.stringify(started.body));
  runId = started.body.id;
  await eventually(async () => {
    const run = await stack.admin("GET", `/v1/admin/simulations/runs/${runId}`);
    return run.body.tables?.length === 3 || undefined;
  }, "the run's three tables to open");
  chromium = await browser();
});

after(async () => {
  await chromium?.close();
  await stack?.stop();
});

test("the run page lists each table with its watch page", async () => {
  const page = await signIn(chromium, stack.url, `/admin/runs/${runId}`);
  const rows = page.locator("#run-tables tbody tr");
  await rows.nth(2).waitFor();
  assert.equal(await rows.count(), 3);
  for (let i = 0; i < 3; i++) {
    assert.match(await rows.nth(i).textContent(), new RegExp(`Three at once #${i + 1}`));
  }
  await page.screenshot({ path: join(SCREENSHOTS, "run-tables.png"), fullPage: true });
  const second = await rows.nth(1).getAttribute("data-table");
  await Promise.all([page.waitForURL(new RegExp(`/watch/${second}`)), rows.nth(1).locator("a", { hasText: "watch" }).click()]);
  await page.locator("h1", { hasText: "Three at once #2" }).waitFor();
  assert.deepEqual(page.problems, []);
});

test("/tables shows every table of the run, each watched on its own", async () => {
  const page = await openPage(chromium, `${stack.url}/tables`);
  for (let i = 1; i <= 3; i++) {
    await page.locator("tr[data-table]", { hasText: `Three at once #${i}` }).waitFor();
  }
  assert.match(await page.locator("#count-live").textContent(), /^3$/);
  const ids = await page.locator("tr[data-table]").evaluateAll((rows) => rows.map((r) => r.dataset.table));
  assert.equal(new Set(ids).size, 3);
  for (const id of ids) {
    const watch = await openPage(chromium, `${stack.url}/watch/${id}`);
    await eventually(async () => (await watch.locator("#log li").count()) > 0 || undefined, `events at ${id}`);
    await watch.close();
  }
  assert.deepEqual(page.problems, []);
});
