// simrunner: helpers every page script uses. Text always goes in through textContent, never
// as HTML, so whatever a user or a model wrote is shown as text.
"use strict";

const simrunner = (() => {
  /** An element with attributes (class, data-*, …) and children (nodes or text). */
  function el(tag, attributes, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes || {})) {
      if (value === false || value === null || value === undefined) continue;
      if (name === "class") node.className = value;
      else node.setAttribute(name, value === true ? "" : String(value));
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function chips(amount) {
    return Number(amount).toLocaleString("en-US");
  }

  /** "3 min ago", from an ISO time. */
  function timeAgo(iso) {
    const seconds = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
    if (seconds < 5) return "just now";
    if (seconds < 60) return `${seconds} s ago`;
    const minutes = Math.round(seconds / 60);
    if (minutes < 60) return `${minutes} min ago`;
    const hours = Math.round(minutes / 60);
    if (hours < 48) return `${hours} h ago`;
    return `${Math.round(hours / 24)} days ago`;
  }

  const SUITS = { s: "♠", h: "♥", d: "♦", c: "♣" };

  /** A card element from "As", "Td"…; a face-down card without one. */
  function card(code, small) {
    if (!code) return el("span", { class: `card back${small ? " small" : ""}`, "aria-label": "hidden card" });
    const rank = code[0] === "T" ? "10" : code[0];
    const suit = code[1];
    const red = suit === "h" || suit === "d";
    return el("span", { class: `card${red ? " red" : ""}${small ? " small" : ""}`, "data-card": code }, rank + SUITS[suit]);
  }

  async function getJSON(url) {
    const response = await fetch(url, { headers: { Accept: "application/json" } });
    if (!response.ok) throw new Error(`${url}: ${response.status}`);
    return response.json();
  }

  /** Refreshes every [data-time] element's "time ago" text. */
  function refreshTimes(root) {
    for (const node of (root || document).querySelectorAll("[data-time]")) {
      node.textContent = timeAgo(node.dataset.time);
    }
  }

  return { el, chips, timeAgo, card, getJSON, refreshTimes };
})();
