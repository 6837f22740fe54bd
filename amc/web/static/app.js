// Live progress: every element [data-batch] not yet finished polls its batch's
// progress once a second. On a batch page, the page reloads when the batch
// finishes, to show the results table. Plain JS, no build step.
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

document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("[data-batch]").forEach((el) => {
    if (el.dataset.finished !== "true") {
      setTimeout(() => poll(el), 1000);
    }
  });
});
