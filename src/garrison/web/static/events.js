// Garrison console, events page. The live tail: every few seconds, asks the server for
// the rows of the events stored since the newest one shown (a server-rendered, escaped
// fragment of <tr>s) and puts them on top, keeping the newest ten; Pause stops it. And
// the search form's address: only the fields that are filled in.
"use strict";

(() => {
  const KEEP = 10;
  const SECONDS = 2;

  function follow(region) {
    const rows = region.querySelector("[data-tail-rows]");
    const empty = region.querySelector("[data-tail-empty]");
    const toggle = region.querySelector("[data-tail-toggle]");
    const state = region.querySelector(".live-state");
    let after = region.dataset.after || "0";
    let paused = false;
    let busy = false;

    if (toggle) {
      toggle.hidden = false;
      toggle.addEventListener("click", () => {
        paused = !paused;
        toggle.textContent = paused ? "Resume" : "Pause";
        toggle.setAttribute("aria-pressed", String(paused));
        if (state) state.textContent = paused ? "Paused" : "";
      });
    }

    const url = () => {
      const base = region.dataset.tail;
      return `${base}${base.includes("?") ? "&" : "?"}after=${encodeURIComponent(after)}`;
    };

    const tick = async () => {
      if (paused || busy || document.hidden) return;
      busy = true;
      try {
        const answer = await fetch(url(), {
          credentials: "same-origin",
          headers: { "X-Requested-With": "fetch" },
        });
        // A session that expired: the page reload goes to the login and back here.
        if (answer.redirected || answer.status === 401) { window.location.reload(); return; }
        if (!answer.ok) return;
        const last = answer.headers.get("X-Last-Event-Id");
        if (last) after = last;
        const html = (await answer.text()).trim();
        if (!html) return;
        rows.insertAdjacentHTML("afterbegin", html);
        while (rows.rows.length > KEEP) rows.deleteRow(-1);
        if (empty) empty.hidden = true;
      } catch (_) {
        // The next tick tries again.
      } finally {
        busy = false;
      }
    };
    setInterval(tick, SECONDS * 1000);
  }

  // The search form sends only the fields that hold something, so that the address of
  // a search (to bookmark or share) names just its filters.
  function tidy(form) {
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const params = new URLSearchParams();
      for (const [name, value] of new FormData(form)) {
        if (typeof value === "string" && value.trim() !== "") params.append(name, value);
      }
      // getAttribute: the form's "action" property is its field named action.
      const target = form.getAttribute("action");
      const query = params.toString();
      window.location.assign(query ? `${target}?${query}` : target);
    });
  }

  document.addEventListener("DOMContentLoaded", () => {
    document.querySelectorAll("#live-events[data-tail]").forEach(follow);
    document.querySelectorAll("form.events-search").forEach(tidy);
  });
})();
