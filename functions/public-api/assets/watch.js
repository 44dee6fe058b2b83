// /watch/{table}: follows the table's feed and replays its hands.
//
// The page arrives rendered by the server; this script then loads the current hand's events,
// follows new ones (Server-Sent Events, or polling `events?after=` where the server says so),
// and redraws the table from the events up to the position shown. Every event carries the
// values it changes (stack, bet, pot, whose turn), so drawing is bookkeeping, not poker.
// Duplicates are dropped by `seq` and gaps refilled. Text goes in as text, never as HTML.
"use strict";

(() => {
  const { el, card, getJSON, chips } = simrunner;
  const root = document.getElementById("watch");
  const tableId = root.dataset.table;
  const transport = root.dataset.transport;
  const api = `/v1/public/tables/${encodeURIComponent(tableId)}`;
  const KINDS = ["table_opened", "hand_started", "blind_posted", "action", "street_dealt",
    "uncalled_bet_returned", "showdown", "pot_awarded", "hand_complete", "hand_aborted", "player_left", "table_ended"];
  const KIND_LABELS = { external: "outside agent", webhook: "outside agent (webhook)" };

  let table = null;          // GET …/tables/{id}: the seats and their names
  let current = [];          // the live hand's events, in seq order
  let viewing = current;     // the events on screen: the live hand or a past one
  let position = -1;         // index in `viewing` of the last event shown
  let lastSeq = Number(root.dataset.lastSeq) || 0;
  let ended = root.dataset.live !== "1";
  let hands = [];            // finished hands, newest first: {number, first_seq}

  // ---- the fold: a table's state after some events ------------------------------------

  function baseState() {
    return {
      hand: null, street: "preflop", board: [], pot: 0, pots: [], button: null,
      sb: null, bb: null, toAct: null, aborted: false,
      seats: table.state.seats.map((s) => ({
        seat: s.seat, name: s.name, kind: s.model || KIND_LABELS[s.kind] || s.kind,
        external: s.kind === "external" || s.kind === "webhook", stack: s.stack, bet: 0,
        status: "waiting", cards: null, rank: null, winner: false,
      })),
    };
  }

  function apply(state, type, d) {
    const seat = state.seats.find((s) => s.seat === d.seat);
    if ("to_act" in d) state.toAct = d.to_act;
    switch (type) {
      case "hand_started":
        Object.assign(state, { hand: d.hand, street: "preflop", board: [], pot: 0, pots: [],
          button: d.button, sb: d.small_blind_seat, bb: d.big_blind_seat, toAct: null, aborted: false });
        for (const s of state.seats) Object.assign(s, { bet: 0, status: "waiting", cards: null, rank: null, winner: false });
        for (const p of d.players || []) {
          const s = state.seats.find((x) => x.seat === p.seat);
          if (s) Object.assign(s, { status: "active", stack: p.stack });
        }
        break;
      case "blind_posted":
      case "action":
        state.pot = d.pot;
        if (seat) {
          seat.stack = d.stack;
          seat.bet = "total" in d ? d.total : d.bet;
          if (d.action === "fold") seat.status = "folded";
          else if (d.all_in) seat.status = "all_in";
        }
        break;
      case "street_dealt":
        Object.assign(state, { street: d.street, board: d.board, pot: d.pot });
        for (const s of state.seats) s.bet = 0;
        break;
      case "uncalled_bet_returned":
        state.pot = d.pot;
        if (seat) Object.assign(seat, { stack: d.stack, bet: Math.max(0, seat.bet - d.amount) });
        break;
      case "showdown":
        if (seat) Object.assign(seat, { cards: d.cards, rank: d.rank });
        break;
      case "pot_awarded":
        Object.assign(state, { street: "over", toAct: null });
        state.pots.push({ amount: d.amount, winners: d.winners });
        for (const s of state.seats) if (d.winners.includes(s.seat)) s.winner = true;
        break;
      case "hand_complete":
        Object.assign(state, { street: "over", toAct: null, pot: 0 });
        for (const entry of d.stacks || []) {
          const s = state.seats.find((x) => x.seat === entry.seat);
          if (s) Object.assign(s, { stack: entry.stack, bet: 0 });
        }
        break;
      case "hand_aborted":
        Object.assign(state, { street: "over", toAct: null, aborted: true });
        break;
      case "player_left":
        if (seat) Object.assign(seat, { status: "left", stack: 0, bet: 0 });
        break;
    }
  }

  function stateAt(events, upTo) {
    const state = baseState();
    for (let i = 0; i <= upTo && i < events.length; i++) apply(state, events[i].type, events[i].data);
    return state;
  }

  // ---- drawing ----------------------------------------------------------------------

  function seatNode(state, s) {
    const classes = ["seat", `seat-${s.seat}`];
    if (state.toAct === s.seat) classes.push("to-act");
    if (s.status === "folded") classes.push("folded");
    if (s.winner) classes.push("winner");
    if (s.external) classes.push("external");
    const inHand = s.status === "active" || s.status === "all_in";
    const hole = s.cards ? s.cards.map((c) => card(c)) : inHand ? [card(null), card(null)] : [];
    const tags = [];
    if (s.status === "folded") tags.push(el("span", { class: "tag" }, "folded"));
    if (s.status === "all_in") tags.push(el("span", { class: "tag" }, "all-in"));
    if (s.status === "left") tags.push(el("span", { class: "tag" }, "left"));
    else if (s.status === "waiting" && s.stack === 0) tags.push(el("span", { class: "tag" }, "out"));
    if (state.sb === s.seat) tags.push(el("span", { class: "tag" }, "SB"));
    if (state.bb === s.seat) tags.push(el("span", { class: "tag" }, "BB"));
    if (s.rank) tags.push(el("span", { class: "rank" }, s.rank));
    return el("div", { class: classes.join(" "), "data-seat": s.seat },
      el("div", { class: "hole" }, hole),
      el("div", { class: "plate" },
        el("div", { class: "name" }, s.name, state.button === s.seat ? el("span", { class: "button", title: "dealer" }, "D") : null),
        el("div", { class: "kind" }, s.kind),
        el("div", { class: "stack" }, chips(s.stack)),
        el("div", { class: "tags" }, tags)),
      el("div", { class: "bet" }, s.bet > 0 ? chips(s.bet) : ""));
  }

  function draw() {
    const state = stateAt(viewing, position);
    const felt = document.getElementById("felt");
    const board = [0, 1, 2, 3, 4].map((i) => (state.board[i] ? card(state.board[i]) : el("span", { class: "card slot" })));
    const pots = state.pots.map((p, i) => el("div", {}, `${i === 0 ? "Main pot" : `Side pot ${i}`}: ${chips(p.amount)}`));
    const winners = state.seats.filter((s) => s.winner).map((s) => s.name);
    const result = state.aborted ? "This hand was cut short" : winners.length ? `${winners.join(" and ")} won` : "";
    felt.replaceChildren(
      el("div", { class: "felt" }),
      el("div", { class: "center" },
        el("div", { class: "street", id: "street" }, state.street),
        el("div", { class: "board", id: "board" }, board),
        el("div", { class: "pot" }, "Pot ", el("span", { id: "pot" }, chips(state.pot))),
        el("div", { class: "pots", id: "pots" }, pots),
        el("div", { class: "result", id: "result" }, result)),
      ...state.seats.map((s) => seatNode(state, s)));
    document.getElementById("hand-no").textContent = state.hand ? `#${state.hand}` : "–";

    const log = document.getElementById("log");
    const lines = [];
    viewing.forEach((e, i) => {
      if (i > position || !e.text) return;
      const classes = [e.type === "hand_started" ? "hand" : "", e.type === "pot_awarded" ? "win" : "", i === position ? "current" : ""];
      lines.push(el("li", { class: classes.filter(Boolean).join(" "), "data-seq": e.seq }, e.text));
    });
    log.replaceChildren(...lines);
    if (following()) log.scrollTop = log.scrollHeight;
    else log.querySelector(".current")?.scrollIntoView({ block: "nearest" });

    const shown = viewing[position];
    document.getElementById("position").textContent = following()
      ? (ended ? "the last hand" : "following live")
      : shown ? `replaying hand #${shown.hand ?? "–"}, event ${position + 1} of ${viewing.length}` : "";
    document.getElementById("follow").disabled = following();
    document.getElementById("prev").disabled = position <= 0 && !previousHand();
    document.getElementById("next").disabled = viewing === current && position >= viewing.length - 1;
    status();
  }

  function status() {
    const badge = ended
      ? el("span", { class: "badge ended" }, "ended")
      : el("span", { class: "badge live" }, el("span", { class: "dot on" }), "LIVE");
    document.getElementById("status").replaceChildren(badge);
  }

  function connection(text) {
    document.getElementById("conn").textContent = text;
  }

  const following = () => viewing === current && position === current.length - 1;

  // ---- the live feed ----------------------------------------------------------------

  /** Takes new events in seq order; duplicates are dropped, a gap is refilled first. */
  async function receive(events) {
    for (const event of events) {
      if (event.seq <= lastSeq) continue;
      if (event.seq > lastSeq + 1) {
        await catchUp();
        if (event.seq <= lastSeq) continue;
      }
      take(event);
    }
  }

  function take(event) {
    const wasFollowing = following();
    lastSeq = event.seq;
    if (event.type === "hand_started") {
      // A new hand: the live timeline starts over (the old one stays replayable).
      current = [];
      if (wasFollowing) viewing = current;
    }
    if (event.type === "hand_complete" || event.type === "hand_aborted") {
      if (event.hand) hands.unshift({ number: event.hand, first_seq: current[0]?.seq ?? event.seq });
      fillJump();
    }
    if (event.type === "table_ended") ended = true;
    current.push(event);
    if (wasFollowing) {
      viewing = current;
      position = current.length - 1;
    }
    draw();
  }

  async function catchUp() {
    for (;;) {
      const page = await getJSON(`${api}/events?after=${lastSeq}&limit=500`);
      for (const event of page.events) if (event.seq > lastSeq) take(event);
      if (!page.has_more) return page;
    }
  }

  function follow() {
    if (transport === "sse" && window.EventSource) {
      const source = new EventSource(`${api}/stream?after=${lastSeq}`);
      source.onopen = () => connection("connected · live");
      source.onerror = () => connection(ended ? "" : "reconnecting…");
      for (const kind of KINDS) {
        source.addEventListener(kind, (message) => receive([JSON.parse(message.data)]));
      }
      source.addEventListener("end", () => {
        ended = true;
        source.close();
        connection("the table has ended");
        draw();
      });
    } else {
      poll();
    }
  }

  async function poll() {
    try {
      const page = await catchUp();
      connection(ended ? "the table has ended" : "connected · polling");
      if (page && page.status === "ended" && !page.has_more) {
        ended = true;
        draw();
        return;
      }
    } catch (error) {
      connection("connection lost · retrying…");
    }
    setTimeout(poll, document.hidden ? 6000 : 1500);
  }

  // ---- replay -----------------------------------------------------------------------

  function previousHand() {
    const number = viewing[0]?.hand;
    return hands.find((h) => h.number < (number ?? Infinity) && h.first_seq);
  }

  async function showHand(number) {
    const hand = hands.find((h) => h.number === number);
    if (!hand || !hand.first_seq) return;
    const events = [];
    let after = hand.first_seq - 1;
    for (;;) {
      const page = await getJSON(`${api}/events?after=${after}&limit=500`);
      const mine = page.events.filter((e) => e.hand === number);
      events.push(...mine);
      if (mine.length < page.events.length || !page.has_more) break;
      after = page.next_after;
    }
    viewing = events;
    position = 0;
    draw();
  }

  function step(by) {
    if (position + by < 0) {
      const previous = previousHand();
      if (previous) showHand(previous.number).then(() => { position = viewing.length - 1; draw(); });
      return;
    }
    if (position + by >= viewing.length) {
      if (viewing !== current) backToLive();
      return;
    }
    position += by;
    draw();
  }

  function backToLive() {
    viewing = current;
    position = current.length - 1;
    draw();
  }

  function fillJump() {
    const select = document.getElementById("jump");
    const options = hands
      .filter((h) => h.first_seq)
      .map((h) => el("option", { value: h.number }, `#${h.number}`));
    select.replaceChildren(el("option", { value: "" }, "–"), ...options);
  }

  document.getElementById("prev").addEventListener("click", () => step(-1));
  document.getElementById("next").addEventListener("click", () => step(1));
  document.getElementById("follow").addEventListener("click", backToLive);
  document.getElementById("prev-hand").addEventListener("click", () => {
    const previous = previousHand();
    if (previous) showHand(previous.number);
  });
  document.getElementById("jump").addEventListener("change", (e) => {
    if (e.target.value) showHand(Number(e.target.value));
  });
  document.addEventListener("keydown", (e) => {
    if (e.target.closest && e.target.closest("select, input, textarea")) return;
    if (e.key === "ArrowLeft") step(-1);
    if (e.key === "ArrowRight") step(1);
  });

  // ---- start ------------------------------------------------------------------------

  async function start() {
    try {
      table = await getJSON(api);
      const from = table.hand_first_seq ? table.hand_first_seq - 1 : Math.max(0, table.last_seq - 1);
      lastSeq = from;
      await catchUp();
      const list = await getJSON(`${api}/hands?limit=100`);
      hands = list.items.map((h) => ({ number: h.number, first_seq: h.first_seq }));
      fillJump();
      if (current.length === 0) draw();
      if (!ended) follow();
      else connection("the table has ended");
    } catch (error) {
      connection("could not load the table · reload to try again");
    }
  }

  start();
})();
