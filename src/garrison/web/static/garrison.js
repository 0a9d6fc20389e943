// Garrison console: small progressive enhancements, no framework. Every page works
// without this file; with it, marked parts refresh live and forms ask before they destroy.
"use strict";

const Garrison = (() => {
  const csrf = () => document.querySelector('meta[name="csrf-token"]')?.content || "";

  // <div data-refresh="/fragment/url" data-interval="5">: replaced by the fragment every
  // N seconds while the page is visible. The fragment is server-rendered, escaped HTML.
  function refresh(element) {
    const url = element.dataset.refresh;
    const seconds = Math.max(1, Number(element.dataset.interval || 10));
    let busy = false;
    const tick = async () => {
      if (busy || document.hidden) return;
      busy = true;
      try {
        const answer = await fetch(url, { credentials: "same-origin", headers: { "X-Requested-With": "fetch" } });
        if (answer.redirected || answer.status === 401) { window.location.reload(); return; }
        if (answer.ok) {
          element.innerHTML = await answer.text();
          element.dispatchEvent(new CustomEvent("garrison:refreshed", { bubbles: true }));
        }
      } catch (_) { /* the next tick tries again */ }
      finally { busy = false; }
    };
    setInterval(tick, seconds * 1000);
  }

  // <form data-confirm="Delete this device?">: asks first.
  function confirmForms() {
    document.addEventListener("submit", (event) => {
      const question = event.target.dataset?.confirm;
      if (question && !window.confirm(question)) event.preventDefault();
    });
  }

  // A JSON call to /api/v1 with the session cookie and the CSRF header.
  async function api(method, url, body) {
    const answer = await fetch(url, {
      method,
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf() },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return answer;
  }

  function start() {
    document.querySelectorAll("[data-refresh]").forEach(refresh);
    confirmForms();
  }

  document.addEventListener("DOMContentLoaded", start);
  return { api, csrf, refresh };
})();
window.Garrison = Garrison;
