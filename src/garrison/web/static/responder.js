// Garrison console, Responder pages: the policy editor keeps each action's "Depends on"
// choices in step with the names typed above it, shows the settings of the type chosen,
// and saves (rather than adding a row) when Enter is pressed in a field. The editor
// works without this file: the server re-renders the choices on "Add another action".
"use strict";

(() => {
  const field = (row, role) => row.querySelector(`[name="${row.dataset.row}${role}"]`);

  function refreshDepends(phase) {
    const rows = [...phase.querySelectorAll("fieldset.action-row")];
    const names = rows.map((row) => field(row, "name")?.value.trim()).filter(Boolean);
    for (const row of rows) {
      const select = field(row, "depends_on");
      if (!select) continue;
      const own = field(row, "name")?.value.trim();
      const current = select.value;
      const wanted = [...new Set(names.filter((n) => n !== own))];
      if (current && !wanted.includes(current)) wanted.push(current);
      const options = [["", "Nothing: starts at once"], ...wanted.map((n) => [n, names.includes(n) ? n : `${n} (not in this list)`])];
      select.replaceChildren(...options.map(([value, text]) => {
        const option = document.createElement("option");
        option.value = value;
        option.textContent = text;
        option.selected = value === current;
        return option;
      }));
    }
  }

  function showTypeHelp(row) {
    const type = field(row, "type")?.value;
    const help = document.getElementById(`h-${row.dataset.row}settings`);
    if (!help) return;
    const source = type && document.querySelector(`[data-type-help="${CSS.escape(type)}"]`);
    help.textContent = source ? source.textContent.trim()
      : "Choose a type to see its settings; every type's settings are listed below.";
  }

  function start() {
    const form = document.querySelector("form.policy-form");
    if (!form) return;
    form.querySelectorAll("fieldset.actions-phase").forEach((phase) => {
      phase.addEventListener("input", (event) => {
        if (event.target.name?.endsWith("-name")) refreshDepends(phase);
      });
      phase.addEventListener("change", (event) => {
        if (event.target.name?.endsWith("-type")) showTypeHelp(event.target.closest("fieldset.action-row"));
      });
    });
    // Enter in a one-line field saves the policy (the first submit button would add a row).
    form.addEventListener("keydown", (event) => {
      const target = event.target;
      if (event.key !== "Enter" || target.tagName !== "INPUT" || target.type === "submit") return;
      const save = form.querySelector("button.save-policy");
      if (save) { event.preventDefault(); save.click(); }
    });
  }

  document.addEventListener("DOMContentLoaded", start);
})();
