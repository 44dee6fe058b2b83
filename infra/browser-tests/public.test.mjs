// The public pages in a real Chromium against the real local stack: a live bot table is
// listed, watched over SSE and over polling, its hole cards stay hidden until showdown, and
// the replay controls step through its hands.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { startStack, browser, openPage, eventually, SCREENSHOTS } from "./stack.mjs";

let stack;
let chromium;
let tableId;

before(async () => {
  stack = await startStack();
  const created = await stack.admin("POST", "/v1/admin/simulations", {
    name: "Browser table", pace: "live", max_hands: 40,
    agent_slots: [{ type: "random" }, { type: "tight" }, { type: "callstation" }, { type: "random" }],
    table_config: { blinds: { small: 5, big: 10 }, initialStack: 1000, actionTimeoutMs: 1000 },
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const started = await stack.admin("POST", `/v1/admin/simulations/${created.body.id}/start`);
  assert.equal(started.status, 201, JSON.stringify(started.body));
  tableId = await eventually(async () => {
    const list = await (await fetch(`${stack.url}/v1/public/tables?status=live`)).json();
    return list.items[0]?.id;
  }, "the table to open");
  chromium = await browser();
});

after(async () => {
  await chromium?.close();
  await stack?.stop();
});

/** What the watch page shows now, read in one go. */
function snapshot(page) {
  return page.evaluate(() => ({
    log: [...document.querySelectorAll("#log li")].map((li) => li.textContent),
    lastSeq: Number(document.querySelector("#log li:last-child")?.dataset.seq || 0),
    board: [...document.querySelectorAll("#board [data-card]")].map((c) => c.dataset.card),
    holeFaces: [...document.querySelectorAll(".seat .hole [data-card]")].map((c) => c.dataset.card),
    conn: document.getElementById("conn").textContent,
    position: document.getElementById("position").textContent,
    hand: document.getElementById("hand-no").textContent,
  }));
}

test("/tables lists the live table", async () => {
  const page = await openPage(chromium, `${stack.url}/tables`);
  const row = page.locator(`tr[data-table="${tableId}"]`);
  await row.waitFor();
  assert.match(await row.textContent(), /Browser table/);
  assert.match(await row.locator(".badge").textContent(), /LIVE/);
  assert.match(await page.locator("#count-live").textContent(), /^1$/);
  await page.screenshot({ path: join(SCREENSHOTS, "tables.png"), fullPage: true });
  assert.deepEqual(page.problems, []);
});

async function watchAdvances(transport, connected) {
  const page = await openPage(chromium, `${stack.url}/watch/${tableId}?transport=${transport}`);
  await eventually(async () => (await snapshot(page)).conn.includes(connected), `the ${transport} connection`);
  const first = await snapshot(page);
  // The log moves on as hands are played, action by action.
  await eventually(async () => (await snapshot(page)).lastSeq >= first.lastSeq + 3, "new actions");
  // Until a showdown, no hole card is shown face up; the board fills in.
  let sawBoard = false;
  const started = Date.now();
  while (Date.now() - started < 25000 && !sawBoard) {
    const now = await snapshot(page);
    const handLog = now.log.slice(now.log.findLastIndex((line) => /Hand #\d+ begins/.test(line)));
    if (!handLog.some((line) => line.includes(" shows "))) {
      assert.deepEqual(now.holeFaces, [], `no hole card before showdown: ${JSON.stringify(handLog)}`);
    }
    sawBoard = now.board.length >= 3;
    await new Promise((r) => setTimeout(r, 150));
  }
  assert.ok(sawBoard, "the board was dealt");
  await page.screenshot({ path: join(SCREENSHOTS, `watch-${transport}.png`), fullPage: true });
  assert.deepEqual(page.problems, []);
  return page;
}

test("/watch follows the table over Server-Sent Events", async () => {
  const page = await watchAdvances("sse", "connected · live");
  await page.close();
});

test("/watch follows the table by polling", async () => {
  const page = await watchAdvances("poll", "connected · polling");
  await page.close();
});

test("replay steps back and forth through the hands", async () => {
  const page = await openPage(chromium, `${stack.url}/watch/${tableId}`);
  await eventually(async () => (await page.locator("#jump option").count()) > 1, "a finished hand to replay");
  const live = await snapshot(page);
  assert.match(live.position, /following live/);
  await page.click("#prev");
  await page.click("#prev");
  const back = await snapshot(page);
  assert.match(back.position, /replaying hand/);
  assert.equal(back.log.length, (await page.locator("#log li").count()));
  await page.keyboard.press("ArrowRight");
  const forward = await snapshot(page);
  assert.notEqual(forward.position, back.position, "→ moves forward");
  const jump = await page.locator("#jump option").nth(1).getAttribute("value");
  await page.selectOption("#jump", jump);
  await eventually(async () => (await snapshot(page)).position.includes(`hand #${jump}`), "the chosen hand");
  const replay = await snapshot(page);
  assert.match(replay.log[0], new RegExp(`Hand #${jump} begins`));
  await page.screenshot({ path: join(SCREENSHOTS, "watch-replay.png"), fullPage: true });
  await page.click("#follow");
  await eventually(async () => (await snapshot(page)).position.includes("following live"), "back to live");
  assert.deepEqual(page.problems, []);
});
