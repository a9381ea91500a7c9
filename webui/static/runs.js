// Live progress on an analysis status page: polls the JSON progress endpoint every two seconds and
// updates the progress bar and the polite live region. Without JavaScript the page refreshes itself.
const panel = document.getElementById("run-status");

async function poll() {
  let state;
  try {
    const response = await fetch(panel.dataset.progressUrl, { headers: { Accept: "application/json" } });
    if (!response.ok) throw new Error(String(response.status));
    state = await response.json();
  } catch {
    window.setTimeout(poll, 5000); // a dropped connection: try again a little later
    return;
  }
  if (!state.running) {
    window.location.reload(); // the finished page shows results, errors and the end time
    return;
  }
  const bar = document.getElementById("run-progress");
  if (bar) {
    bar.max = state.total || 1;
    bar.value = state.done;
    bar.textContent = `${state.percent}%`;
  }
  const stage = document.getElementById("run-stage");
  if (stage) stage.textContent = state.stage_label;
  const tag = document.getElementById("run-status-tag");
  if (tag) tag.textContent = state.status_label;
  const message = document.getElementById("run-message");
  const text = state.message;
  if (message && message.textContent !== text) message.textContent = text;
  window.setTimeout(poll, 2000);
}

if (panel && panel.dataset.running === "true") {
  window.setTimeout(poll, 2000);
}
