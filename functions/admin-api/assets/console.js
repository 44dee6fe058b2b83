// simrunner admin console: the live parts of the server-rendered pages. Every change goes
// through the JSON API with the session cookie and the page's CSRF token; text from users,
// configs and models is only ever set with textContent (simrunner.el), never as HTML.
"use strict";

(() => {
  const { el, refreshTimes } = simrunner;
  const csrf = document.querySelector('meta[name="csrf-token"]')?.content || "";

  /** A call to the admin API: { ok, status, data }. */
  async function api(method, url, body) {
    const headers = { Accept: "application/json", "X-CSRF-Token": csrf };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const response = await fetch(url, {
      method,
      headers,
      credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (response.status === 401) {
      location.assign(`/admin/login?next=${encodeURIComponent(location.pathname + location.search)}`);
    }
    const text = await response.text();
    let data = null;
    try { data = text ? JSON.parse(text) : null; } catch { data = null; }
    return { ok: response.ok, status: response.status, data };
  }

  function errorMessage(result) {
    return result.data?.error?.message || `the server answered ${result.status}`;
  }

  function flash(message, kind) {
    const box = document.getElementById("flash");
    if (!box) { alert(message); return; }
    box.textContent = message;
    box.className = `notice ${kind || "bad"}`;
    box.scrollIntoView({ block: "nearest" });
  }

  // ---- "time ago" and "in 4 min" --------------------------------------------------------

  function timeUntil(iso) {
    const seconds = Math.round((Date.parse(iso) - Date.now()) / 1000);
    if (seconds <= 30) return "due now";
    const minutes = Math.round(seconds / 60);
    if (minutes < 60) return `in ${minutes} min`;
    return `in ${Math.round(minutes / 6) / 10} h`;
  }

  function refreshClocks(root) {
    refreshTimes(root);
    for (const node of (root || document).querySelectorAll("[data-until]")) {
      node.textContent = timeUntil(node.dataset.until);
    }
  }

  // ---- auto-refresh: the server renders, the page swaps in the new #live ----------------

  const live = document.getElementById("live");
  if (live && live.dataset.refresh) {
    const every = Number(live.dataset.refresh);
    const refresh = async () => {
      if (document.hidden) return;
      const response = await fetch(location.href, { headers: { Accept: "text/html" }, credentials: "same-origin" });
      if (response.redirected && new URL(response.url).pathname === "/admin/login") {
        location.assign(response.url);
        return;
      }
      if (!response.ok) return;
      const next = new DOMParser().parseFromString(await response.text(), "text/html").getElementById("live");
      const current = document.getElementById("live");
      if (next && current) {
        current.replaceWith(next);
        refreshClocks(next);
      }
    };
    setInterval(() => refresh().catch(() => {}), every);
  }

  // ---- buttons that call the API: data-method, data-url, data-body, data-confirm, data-go

  document.addEventListener("click", async (event) => {
    const button = event.target.closest("button[data-method][data-url]");
    if (!button || button.disabled) return;
    event.preventDefault();
    if (button.dataset.confirm && !confirm(button.dataset.confirm)) return;
    button.disabled = true;
    try {
      const body = button.dataset.body ? JSON.parse(button.dataset.body) : undefined;
      const result = await api(button.dataset.method, button.dataset.url, body);
      if (!result.ok) {
        flash(errorMessage(result));
        button.disabled = false;
        return;
      }
      if (button.dataset.go) location.assign(button.dataset.go);
      else location.reload();
    } catch (error) {
      flash(`the request failed: ${error.message}`);
      button.disabled = false;
    }
  });

  // ---- forms posted as JSON, with the API's field errors shown next to their fields -----

  function clearErrors(form) {
    for (const node of form.querySelectorAll(".error")) node.textContent = "";
    for (const node of form.querySelectorAll(".invalid")) node.classList.remove("invalid");
  }

  /** Puts each `details[].field` message next to its field; the rest go to the flash. */
  function showErrors(form, result) {
    const details = result.data?.error?.details || [];
    const unplaced = [];
    for (const { field, message } of details) {
      const slot = /^agent_slots\[(\d+)\]/.exec(field);
      // `windows[1].end` belongs to the one windows field.
      const window = /^windows\[(\d+)\]/.exec(field);
      let box = form.querySelector(`[data-error-for="${CSS.escape(window ? "windows" : field)}"]`);
      if (!box && slot) box = form.querySelectorAll("#slots .slot")[Number(slot[1])]?.querySelector('[data-slot="error"]');
      if (box) {
        box.textContent = slot ? `${field.replace(/^agent_slots\[\d+\]\.?/, "") || "seat"} ${message}`
          : window ? `window ${Number(window[1]) + 1}: ${message}` : message;
        box.closest(".field, .slot")?.classList.add("invalid");
      } else {
        unplaced.push(`${field} ${message}`);
      }
    }
    const lead = errorMessage(result);
    flash(unplaced.length ? `${lead} ${unplaced.join("; ")}` : lead);
    form.querySelector(".invalid input, .invalid select")?.focus();
  }

  /** Sets `value` at a dotted path such as `table_config.blinds.small`. */
  function setPath(target, path, value) {
    const keys = path.split(".");
    let node = target;
    for (const key of keys.slice(0, -1)) node = node[key] ||= {};
    node[keys[keys.length - 1]] = value;
  }

  function numberOrText(input) {
    if (input.type === "checkbox") return input.checked;
    if (input.type !== "number") return input.value;
    if (input.value.trim() === "") return null;
    return Number(input.value);
  }

  // ---- the simulation form and its slot builder -----------------------------------------

  const simForm = document.getElementById("simulation-form");
  if (simForm) {
    const keyed = new Set((simForm.dataset.keyed || "").split(",").filter(Boolean));
    const slots = simForm.querySelector("#slots");
    const count = simForm.querySelector("#agent_count");
    const scheduleType = simForm.querySelector("#schedule_type");
    const repeat = simForm.querySelector("#repeat");

    const syncSlot = (row) => {
      const type = row.querySelector('[data-slot="type"]');
      const model = row.querySelector('[data-slot="model"]');
      const needsModel = type.selectedOptions[0]?.dataset.requiresModel === "true";
      model.classList.toggle("hidden", !needsModel);
      model.disabled = !needsModel;
      const agent = row.querySelector('[data-slot="agent"]');
      const external = type.value === "external";
      agent.classList.toggle("hidden", !external);
      agent.disabled = !external;
      const webhook = row.querySelector('[data-slot="webhook"]');
      const calls = type.value === "webhook";
      webhook.classList.toggle("hidden", !calls);
      webhook.disabled = !calls;
      row.querySelector('[data-slot="webhook-help"]').classList.toggle("hidden", !calls);
      const provider = model.value.split(":")[0].trim();
      const warn = needsModel && provider !== "" && !keyed.has(provider);
      row.querySelector('[data-slot="key-warning"]').classList.toggle("hidden", !warn);
      syncExternal();
    };
    // The outside-agents fields apply only while a seat is external.
    const hasExternal = () =>
      [...slots.querySelectorAll('[data-slot="type"]')].some((t) => t.value === "external");
    const syncExternal = () => {
      for (const node of simForm.querySelectorAll("[data-external]")) node.classList.toggle("hidden", !hasExternal());
    };
    const syncSlots = () => {
      const wanted = Math.min(9, Math.max(2, Number(count.value) || 2));
      const rows = () => slots.querySelectorAll(".slot");
      while (rows().length < wanted) {
        const row = rows()[rows().length - 1].cloneNode(true);
        row.querySelector('[data-slot="error"]').textContent = "";
        row.classList.remove("invalid");
        slots.append(row);
      }
      while (rows().length > wanted) rows()[rows().length - 1].remove();
      rows().forEach(syncSlot);
    };
    // Which fields belong to the schedule chosen: an interval, a calendar, always-on tables.
    const scheduleKind = () => {
      if (scheduleType.value === "periodic") return repeat.value === "cron" ? "calendar" : "interval";
      return scheduleType.value;
    };
    const syncSchedule = () => {
      const kind = scheduleKind();
      const show = {
        "[data-periodic]": kind === "interval" || kind === "calendar",
        "[data-interval]": kind === "interval",
        "[data-calendar]": kind === "calendar",
        "[data-always-on]": kind === "always_on",
        "[data-zone]": kind === "calendar" || kind === "always_on",
        "[data-repeating]": kind !== "one_off",
      };
      for (const [selector, visible] of Object.entries(show)) {
        for (const node of simForm.querySelectorAll(selector)) node.classList.toggle("hidden", !visible);
      }
      schedulePreview();
    };
    /** `08:00-23:00, 22:00-02:00` as the API's windows. */
    const parseWindows = (text) => text.split(",").map((w) => w.trim()).filter(Boolean).map((w) => {
      const [start, end] = w.split("-").map((t) => t.trim());
      return { start: start || null, end: end || null };
    });
    /** The schedule's fields of `body` for the chosen kind; the rest are dropped. */
    const scheduleFields = (body, creating) => {
      const kind = scheduleKind();
      const drop = (names) => { for (const name of names) delete body[name]; };
      const calendar = ["cron_expression", "starts_at", "ends_at", "max_runs"];
      const alwaysOn = ["live_tables", "windows", "handover"];
      const nullable = ["starts_at", "ends_at", "max_runs", "auto_pause_after", "time_zone", "cron_expression"];
      if (kind !== "calendar") drop(calendar);
      if (kind !== "always_on") drop(alwaysOn);
      if (kind !== "calendar" && kind !== "always_on") drop(["time_zone"]);
      if (kind !== "interval") drop(["interval_minutes"]);
      if (kind === "one_off") drop(["cooldown_minutes"]);
      if (kind === "always_on") body.windows = parseWindows(body.windows || "");
      for (const name of nullable) {
        if (name in body && (body[name] === "" || body[name] === null)) {
          if (creating) delete body[name]; else body[name] = null;
        }
      }
      body.schedule_type = scheduleType.value;
      return body;
    };
    // The preview panel: the next starts and what will not happen, as the API sees it.
    const previewBox = simForm.querySelector("#schedule-preview");
    let previewTimer = null;
    const schedulePreview = () => {
      if (!previewBox) return;
      clearTimeout(previewTimer);
      previewTimer = setTimeout(async () => {
        const body = {};
        for (const input of simForm.querySelectorAll("#schedule input[name], #schedule select[name], #max_run_minutes")) {
          if (input.name) setPath(body, input.name, numberOrText(input));
        }
        scheduleFields(body, true);
        delete body.auto_pause_after;
        const result = await api("POST", previewBox.dataset.url, body).catch(() => null);
        const warnings = previewBox.querySelector("#preview-warnings");
        const starts = previewBox.querySelector("#preview-starts");
        if (!result) return;
        if (!result.ok) {
          const details = result.data?.error?.details || [];
          warnings.replaceChildren(...(details.length ? details : [{ field: "", message: errorMessage(result) }])
            .map((d) => el("p", { class: "bad small" }, `${d.field} ${d.message}`.trim())));
          starts.replaceChildren();
          return;
        }
        warnings.replaceChildren(...result.data.warnings.map((w) => el("p", { class: "warn small", "data-warning": w.code }, `⚠ ${w.message}`)));
        starts.replaceChildren(...result.data.starts.map((at) =>
          el("li", {}, el("time", { datetime: at, title: at }, new Date(at).toLocaleString()))));
      }, 250);
    };
    count.addEventListener("input", syncSlots);
    scheduleType.addEventListener("change", syncSchedule);
    repeat.addEventListener("change", syncSchedule);
    // Handover leaves no room for a cooldown.
    simForm.querySelector("#handover").addEventListener("change", (event) => {
      if (event.target.checked) simForm.querySelector("#cooldown_minutes").value = "0";
    });
    for (const input of simForm.querySelectorAll("#schedule input, #max_run_minutes")) {
      input.addEventListener("input", schedulePreview);
      input.addEventListener("change", schedulePreview);
    }
    slots.addEventListener("change", (e) => syncSlot(e.target.closest(".slot")));
    slots.addEventListener("input", (e) => syncSlot(e.target.closest(".slot")));
    syncSlots();
    syncSchedule();

    simForm.addEventListener("submit", async (event) => {
      event.preventDefault();
      clearErrors(simForm);
      const creating = simForm.dataset.method === "POST";
      const body = {};
      for (const input of simForm.querySelectorAll("input[name], select[name]")) {
        setPath(body, input.name, numberOrText(input));
      }
      scheduleFields(body, creating);
      if (creating && body.max_llm_cost_usd === null) delete body.max_llm_cost_usd;
      if (hasExternal()) {
        body.fill_empty_seats_with = body.fill_empty_seats_with || null;
      } else {
        delete body.join_timeout_seconds;
        delete body.fill_empty_seats_with;
      }
      body.agent_slots = [...slots.querySelectorAll(".slot")].map((row) => {
        const type = row.querySelector('[data-slot="type"]').value;
        const model = row.querySelector('[data-slot="model"]');
        const agent = row.querySelector('[data-slot="agent"]');
        const webhook = row.querySelector('[data-slot="webhook"]');
        const slot = { type };
        if (!model.disabled) slot.model = model.value.trim();
        if (!agent.disabled && agent.value) slot.agent_id = agent.value;
        if (!webhook.disabled) slot.webhook_id = webhook.value || null;
        return slot;
      });
      const result = await api(simForm.dataset.method, simForm.dataset.url, body);
      if (result.ok) location.assign(`/admin/simulations/${encodeURIComponent(result.data.id)}`);
      else showErrors(simForm, result);
    });
  }

  // ---- the key form ---------------------------------------------------------------------

  const keyForm = document.getElementById("key-form");
  if (keyForm) {
    keyForm.addEventListener("submit", async (event) => {
      event.preventDefault();
      clearErrors(keyForm);
      const body = {};
      for (const input of keyForm.querySelectorAll("input[name], select[name]")) body[input.name] = input.value;
      const result = await api("POST", keyForm.dataset.url, body);
      keyForm.querySelector("#key").value = "";
      if (result.ok) location.reload();
      else showErrors(keyForm, result);
    });
  }

  // ---- the agent form: the new agent's key is shown once, here ---------------------------

  const agentForm = document.getElementById("agent-form");
  if (agentForm) {
    agentForm.addEventListener("submit", async (event) => {
      event.preventDefault();
      clearErrors(agentForm);
      const name = agentForm.querySelector("#agent-name").value;
      const result = await api("POST", agentForm.dataset.url, { name });
      if (!result.ok) {
        showErrors(agentForm, result);
        return;
      }
      agentForm.reset();
      const notice = document.getElementById("new-agent-key");
      notice.replaceChildren(
        `Created ${result.data.agent.name} (${result.data.agent.id}). Its key, shown only now: `,
        el("code", { class: "mono" }, result.data.api_key),
        " ",
        el("a", { href: location.pathname }, "done: refresh the list"));
      notice.classList.remove("hidden");
    });
  }

  // ---- the webhook form: the new endpoint's secret is shown here, once ------------------

  const webhookForm = document.getElementById("webhook-form");
  if (webhookForm) {
    const created = document.getElementById("webhook-created");
    webhookForm.addEventListener("submit", async (event) => {
      event.preventDefault();
      clearErrors(webhookForm);
      const body = {};
      for (const input of webhookForm.querySelectorAll("input[name]")) body[input.name] = input.value;
      const result = await api("POST", webhookForm.dataset.url, body);
      if (!result.ok) {
        showErrors(webhookForm, result);
        return;
      }
      webhookForm.reset();
      document.getElementById("webhook-secret").textContent = result.data.secret;
      created.classList.remove("hidden");
      created.scrollIntoView({ block: "nearest" });
    });
    document.getElementById("webhook-done").addEventListener("click", () => location.reload());
  }

  // ---- platforms: added from a form, each with a connection check ------------------------

  const platformForm = document.getElementById("platform-form");
  if (platformForm) {
    platformForm.addEventListener("submit", async (event) => {
      event.preventDefault();
      clearErrors(platformForm);
      const body = {};
      for (const input of platformForm.querySelectorAll("input[name]")) body[input.name] = input.value;
      const result = await api("POST", platformForm.dataset.url, body);
      if (result.ok) location.reload();
      else showErrors(platformForm, result);
    });
  }
  document.addEventListener("click", async (event) => {
    const button = event.target.closest("button[data-check]");
    if (!button || button.disabled) return;
    const shown = button.parentElement.querySelector("[data-check-result]");
    button.disabled = true;
    shown.className = "small muted";
    shown.textContent = "checking…";
    try {
      const result = await api("POST", button.dataset.check);
      shown.textContent = result.ok ? result.data.summary : errorMessage(result);
      shown.className = `small ${result.ok && result.data.ready ? "good" : "bad"}`;
    } catch (error) {
      shown.textContent = `the request failed: ${error.message}`;
      shown.className = "small bad";
    } finally {
      button.disabled = false;
    }
  });

  // ---- the log viewer -------------------------------------------------------------------

  /** The text of a capped log field: a string, or {text, truncated, bytes}. */
  function capped(value) {
    if (value && typeof value === "object" && "text" in value) {
      return `${value.text}… (cut at ${value.text.length} of ${value.bytes} bytes)`;
    }
    return value;
  }

  function pre(text) {
    return el("pre", { class: "log-text" }, typeof text === "string" ? text : JSON.stringify(text, null, 1));
  }

  function messagesOf(value) {
    const text = capped(value);
    try { return JSON.parse(text); } catch { return null; }
  }

  function messageBlock(message) {
    const parts = [];
    if (message.content) parts.push(pre(message.content));
    for (const call of message.tool_calls || []) parts.push(pre(`→ ${call.name}(${JSON.stringify(call.arguments)})`));
    for (const result of message.results || []) parts.push(pre(`${result.name}${result.is_error ? " (error)" : ""}: ${typeof result.content === "string" ? result.content : JSON.stringify(result.content)}`));
    return el("div", { class: "log-message" }, el("span", { class: "role" }, message.role || "?"), parts);
  }

  const SHOWN = new Set(["event", "hand", "seat", "at"]);

  function facts(entry, skip) {
    const list = el("dl", { class: "log-facts" });
    for (const [key, value] of Object.entries(entry)) {
      if (SHOWN.has(key) || skip.has(key) || value === null || value === undefined) continue;
      list.append(el("dt", {}, key), el("dd", {}, typeof value === "object" ? JSON.stringify(value) : String(value)));
    }
    return list;
  }

  function logRow(entry) {
    const kind = entry.event || "entry";
    const head = el("div", { class: "log-head" },
      el("span", { class: `badge log-${kind}` }, kind),
      entry.hand !== undefined ? el("span", { class: "muted" }, `hand ${entry.hand}`) : null,
      entry.at ? el("time", { "data-time": entry.at, class: "muted" }, simrunner.timeAgo(entry.at)) : null);
    const body = [];
    if (kind === "llm_prompt") {
      body.push(el("div", { class: "muted" }, `call ${entry.call} to ${entry.model}${entry.tools ? ` · tools: ${entry.tools.join(", ")}` : ""}`));
      const messages = messagesOf(entry.messages);
      if (Array.isArray(messages)) body.push(...messages.map(messageBlock));
      else body.push(pre(capped(entry.messages)));
    } else if (kind === "llm_response") {
      if (entry.action) body.push(el("div", { class: "log-action" }, `plays ${entry.action.action}${entry.action.to ? ` to ${entry.action.to}` : ""}`));
      if (entry.reasoning) body.push(pre(capped(entry.reasoning)));
      const usage = entry.usage || {};
      body.push(el("div", { class: "muted" }, `${entry.latency_ms} ms · ${usage.input ?? "?"} in / ${usage.output ?? "?"} out tokens · ${entry.finish_reason || ""}`));
      const raw = el("details", {}, el("summary", {}, "raw answer"), pre(capped(entry.raw)));
      body.push(raw);
    } else {
      body.push(facts(entry, new Set()));
    }
    return el("div", { class: "log-entry" }, head, body);
  }

  const logs = document.getElementById("logs");
  if (logs) {
    const rendered = new Map();
    const runStatus = () => document.getElementById("run-status")?.textContent.trim();
    const isLive = () => ["queued", "running"].includes(runStatus());
    const load = async () => {
      const result = await api("GET", logs.dataset.url);
      if (!result.ok) {
        const expired = result.data?.error?.code === "logs_expired";
        logs.replaceChildren(el("p", { class: expired ? "notice warn" : "notice bad" },
          expired ? "Logs expired: only the most recent runs keep their logs." : errorMessage(result)));
        return false;
      }
      if (rendered.size === 0) logs.replaceChildren();
      if (result.data.files.length === 0) {
        logs.replaceChildren(el("p", { class: "muted" }, "No log entries yet."));
        return true;
      }
      for (const file of result.data.files) {
        let stream = rendered.get(file.name);
        if (!stream) {
          const rows = el("div", { class: "log-rows" });
          const title = el("summary", {}, file.name);
          const section = el("details", { class: "log-stream", open: true, "data-stream": file.name }, title, rows);
          logs.querySelector(".muted")?.remove();
          logs.append(section);
          stream = { rows, title, count: 0 };
          rendered.set(file.name, stream);
        }
        const atBottom = stream.rows.scrollTop + stream.rows.clientHeight >= stream.rows.scrollHeight - 8;
        for (const entry of file.entries.slice(stream.count)) stream.rows.append(logRow(entry));
        stream.count = file.entries.length;
        stream.title.textContent = `${file.name} · ${stream.count} entries`;
        if (atBottom) stream.rows.scrollTop = stream.rows.scrollHeight;
      }
      return true;
    };
    const follow = async () => {
      const wasLive = isLive();
      const ok = await load().catch(() => true);
      // One more read after the run ends picks up its last entries.
      if (ok && wasLive) setTimeout(follow, 2000);
    };
    follow();
  }

  refreshClocks();
  setInterval(() => refreshClocks(), 15000);
})();
