// The pages' script (plain JS, no build step, no inline code: the CSP forbids it).
// 1. Live progress: every element [data-batch] not yet finished polls its batch's
//    progress once a second; a batch page reloads when its batch finishes.
// 2. The pair page's keyboard shortcuts (shown on the page): a accept, s/i/m/t tick a
//    label, c save, j/→ next, k/← previous, u undo, n note. Enter or Escape in the note
//    returns to the shortcuts and never submits. Ticking a label unticks the ones the
//    precedence rules exclude, so what is saved is what is shown.
"use strict";

function updateProgress(el, p) {
  const done = p.papers.done + p.papers.failed;
  const bar = el.querySelector("progress");
  bar.max = p.total || 1;
  bar.value = done;
  el.querySelector(".progress-text").textContent = done + " / " + p.total + " papers";
  const status = el.querySelector(".status");
  status.textContent = p.status;
  status.className = "status status-" + p.status;
  el.dataset.finished = p.finished ? "true" : "false";
}

function poll(el) {
  fetch("/batches/" + encodeURIComponent(el.dataset.batch) + "/progress.json",
        {credentials: "same-origin", headers: {"Accept": "application/json"}})
    .then((r) => (r.ok ? r.json() : Promise.reject(r.status)))
    .then((p) => {
      updateProgress(el, p);
      if (!p.finished) {
        setTimeout(() => poll(el), 1000);
      } else if (document.body.querySelector(".results")) {
        window.location.reload();
      }
    })
    .catch(() => setTimeout(() => poll(el), 5000));
}

// which labels each one excludes (the TRACS precedence)
const EXCLUDES = {
  science: ["mention", "not_telescope"],
  instrumentation: ["mention", "not_telescope"],
  mention: ["science", "instrumentation", "not_telescope"],
  not_telescope: ["science", "instrumentation", "mention"],
};

function tick(name, on) {
  const box = document.getElementById("tick-" + name);
  if (!box) return;
  box.checked = on;
  if (on) {
    EXCLUDES[name].forEach((other) => {
      const o = document.getElementById("tick-" + other);
      if (o) o.checked = false;
    });
  }
}

function press(id) {
  const el = document.getElementById(id);
  if (!el) return false;
  el.click();
  return true;
}

function reviewKeys() {
  const note = document.getElementById("note");
  Object.keys(EXCLUDES).forEach((name) => {
    const box = document.getElementById("tick-" + name);
    if (box) box.addEventListener("change", () => tick(name, box.checked));
  });
  if (note) {
    note.addEventListener("keydown", (e) => {
      if (e.key === "Enter" || e.key === "Escape") {
        e.preventDefault(); // Enter in the note never submits the form
        note.blur();
      }
    });
  }
  const keys = {
    a: () => press("accept"),
    c: () => press("save"),
    u: () => press("undo"),
    j: () => press("next"),
    ArrowRight: () => press("next"),
    k: () => press("previous"),
    ArrowLeft: () => press("previous"),
    n: () => { if (note) note.focus(); return Boolean(note); },
    s: () => { const b = document.getElementById("tick-science"); tick("science", !b.checked); return true; },
    i: () => { const b = document.getElementById("tick-instrumentation"); tick("instrumentation", !b.checked); return true; },
    m: () => { const b = document.getElementById("tick-mention"); tick("mention", !b.checked); return true; },
    t: () => { const b = document.getElementById("tick-not_telescope"); tick("not_telescope", !b.checked); return true; },
  };
  document.addEventListener("keydown", (e) => {
    const target = e.target;
    const typing = target instanceof HTMLElement &&
      (target.tagName === "TEXTAREA" || target.tagName === "SELECT" || target.isContentEditable ||
       (target.tagName === "INPUT" && target.type !== "checkbox"));
    if (typing || e.altKey || e.ctrlKey || e.metaKey) return;
    const action = keys[e.key];
    if (action && action() !== false) e.preventDefault();
  });
}

document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("[data-batch]").forEach((el) => {
    if (el.dataset.finished !== "true") {
      setTimeout(() => poll(el), 1000);
    }
  });
  if (document.body.dataset.page === "pair") reviewKeys();
});
