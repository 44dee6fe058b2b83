// /tables: keeps the list current. Rows are rebuilt from /v1/public/tables every 5 seconds
// (text only, never HTML), and the "time ago" column ticks.
"use strict";

(() => {
  const { el, getJSON, refreshTimes } = simrunner;
  const filter = document.getElementById("filters").dataset.filter;

  function row(table) {
    const status = table.status === "live"
      ? el("span", { class: "badge live" }, "LIVE")
      : el("span", { class: "badge ended" }, "ended");
    const players = table.seats.map((s) =>
      el("div", {}, s.model ? `${s.name} (${s.model}) · ${s.stack}` : `${s.name} · ${s.stack}`));
    return el("tr", { "data-table": table.id },
      el("td", {}, el("a", { href: `/watch/${encodeURIComponent(table.id)}` }, table.name)),
      el("td", {}, status),
      el("td", { class: "mono" }, `${table.blinds.small} / ${table.blinds.big}`),
      el("td", {}, players),
      el("td", {}, `#${table.hand_number}`),
      el("td", { class: "muted", "data-time": table.last_event_at }, ""));
  }

  async function refresh() {
    try {
      const query = filter ? `?status=${filter}&limit=100` : "?limit=100";
      const list = await getJSON(`/v1/public/tables${query}`);
      document.getElementById("rows").replaceChildren(...list.items.map(row));
      document.getElementById("count-live").textContent = list.counts.live;
      document.getElementById("count-ended").textContent = list.counts.ended;
      document.getElementById("count-all").textContent = list.counts.live + list.counts.ended;
      const empty = list.items.length === 0;
      document.getElementById("tables").classList.toggle("hidden", empty);
      document.getElementById("empty").classList.toggle("hidden", !empty);
    } catch (error) {
      // Keep what is shown; the next refresh tries again.
    }
    refreshTimes();
  }

  refreshTimes();
  setInterval(refresh, 5000);
  setInterval(() => refreshTimes(), 1000);
})();
