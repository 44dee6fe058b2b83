// A simulation that plays at another platform, driven from the console in a real Chromium:
// the platform is a second local stack. The operator adds it (its credential never shown
// again), checks the connection, creates a simulation hosted there, starts it, and follows
// the run's link to the platform's own watch page, which shows the table.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { startStack, browser, openPage, eventually, signIn, TOKEN, SCREENSHOTS } from "./stack.mjs";

let platform;
let runner;
let chromium;

before(async () => {
  [platform, runner] = await Promise.all([startStack(), startStack()]);
  chromium = await browser();
});

after(async () => {
  await chromium?.close();
  await Promise.all([platform?.stop(), runner?.stop()]);
});

async function shot(page, name) {
  await page.screenshot({ path: join(SCREENSHOTS, `platform-${name}.png`), fullPage: true });
}

test("the console adds a platform, checks it, and a run there links the platform's watch page", async () => {
  const page = await signIn(chromium, runner.url, "/admin/platforms");
  assert.match(await page.textContent("#platforms"), /No platforms yet/);
  await page.fill("#name", "The <other> site");
  await page.fill("#base_url", platform.url);
  await page.fill("#credential", TOKEN);
  await page.click("#platform-form button[type=submit]");
  const row = page.locator("#platforms tr[data-platform]");
  await eventually(async () => (await row.count()) === 1, "the platform in the list");
  assert.match(await row.textContent(), /The <other> site/, "the name is text, not markup");
  assert.match(await row.textContent(), /\*\*\*\*6789/);
  assert.ok(!(await page.content()).includes(TOKEN), "the credential is never on the page");
  await row.locator("button[data-check]").click();
  const result = row.locator("[data-check-result]");
  await eventually(async () => /simulations can play there/.test(await result.textContent()), "the check's answer");
  assert.match(await result.getAttribute("class"), /good/);
  await shot(page, "list-checked");

  await page.goto(`${runner.url}/admin/simulations/new`);
  await page.fill("#name", "Played elsewhere");
  await page.selectOption("#schedule_type", "one_off");
  await page.selectOption("#pace", "fast");
  await page.fill("#max_hands", "3");
  await page.fill("#agent_count", "3");
  const platformId = await row.getAttribute("data-platform").catch(() => null);
  await page.selectOption("#host", { label: "the platform The <other> site" });
  assert.ok(platformId === null || platformId.startsWith("plt_"));
  await Promise.all([page.waitForURL(/\/admin\/simulations\/sim_/), page.click("#simulation-form button[type=submit]")]);
  await page.click("button:has-text('Start')");
  const runLink = page.locator("#runs a.mono").first();
  await runLink.waitFor();
  await runLink.click();
  await page.waitForURL(/\/admin\/runs\/run_/);
  const watchLink = page.locator("#platform-watch");
  await eventually(async () => {
    await page.reload();
    return (await watchLink.count()) === 1;
  }, "the link to the platform's watch page", 60000);
  const href = await watchLink.getAttribute("href");
  assert.ok(href.startsWith(`${platform.url}/watch/tbl_`), href);
  await shot(page, "run");

  const watch = await openPage(chromium, href);
  await eventually(async () => /sim-/.test(await watch.textContent("body")), "the table's seats at the platform", 60000);
  await shot(watch, "watch-there");
  assert.deepEqual(page.problems, [], "no script errors in the console");
  assert.deepEqual(watch.problems, [], "no script errors on the platform's watch page");
});
