// Strata's status page: reads /api/* every few seconds and redraws the view the location's
// hash names (#/ overview, #/browse?path=/x file browser, #/workers/ID a worker), so it
// stays current without reloading.
"use strict";

const REFRESH_MS = 2000;
const state = { cluster: null, unhealthy: null, browse: null, browsed: null, error: null };

function esc(value) {
  return String(value ?? "").replace(/[&<>"']/g, (c) => ({
    "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;",
  })[c]);
}

function bytes(n) {
  const units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
  let value = Number(n) || 0;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return (unit === 0 ? value : value.toFixed(1)) + " " + units[unit];
}

function ago(ms) {
  const s = (Number(ms) || 0) / 1000;
  return s < 60 ? s.toFixed(1) + " s ago" : Math.round(s / 60) + " min ago";
}

function time(ms) {
  return ms ? new Date(Number(ms)).toISOString().replace("T", " ").slice(0, 19) : "";
}

function usage(used, capacity) {
  const share = capacity > 0 ? Math.min(100, (100 * used) / capacity) : 0;
  return `<span class="bar"><span style="width:${share.toFixed(1)}%"></span></span>` +
    `${esc(bytes(used))} / ${esc(bytes(capacity))}`;
}

function browseLink(path, text) {
  return `<a href="#/browse?path=${encodeURIComponent(path)}">${esc(text ?? path)}</a>`;
}

function workerLink(id) {
  return `<a href="#/workers/${encodeURIComponent(id)}">${esc(id)}</a>`;
}

function card(label, value, cls) {
  return `<div class="card"><div class="label">${esc(label)}</div>` +
    `<div class="value ${cls ?? ""}">${value}</div></div>`;
}

function route() {
  const hash = location.hash.replace(/^#/, "") || "/";
  const [path, query] = hash.split("?");
  const params = new URLSearchParams(query ?? "");
  if (path.startsWith("/workers/")) {
    return { view: "worker", id: decodeURIComponent(path.slice("/workers/".length)) };
  }
  if (path.startsWith("/browse")) {
    return { view: "browse", path: params.get("path") || "/" };
  }
  return { view: "overview" };
}

async function getJson(url) {
  const response = await fetch(url, { cache: "no-store" });
  const body = await response.json();
  if (!response.ok) {
    throw new Error(body.error || response.statusText);
  }
  return body;
}

function summaryCards(s) {
  const health = esc(s.health);
  return `<div class="cards" id="summary">
    ${card("Health", `<span id="health">${health}</span>`,
      "health health-" + s.health.replace(/ /g, "-"))}
    ${card("Safe mode", s.safe_mode ? "ON" : "off")}
    ${card("Capacity", esc(bytes(s.capacity)))}
    ${card("Used", esc(bytes(s.used)))}
    ${card("Remaining", esc(bytes(s.remaining)))}
    ${card("Data in files", esc(bytes(s.file_bytes)))}
    ${card("Files", esc(s.files))}
    ${card("Directories", esc(s.directories))}
    ${card("Blocks", esc(s.blocks))}
    ${card("Workers live / dead", `<span id="live-workers">${esc(s.live_workers)}</span> / ` +
      `<span id="dead-workers">${esc(s.dead_workers)}</span>`)}
    ${card("Decommissioning", esc(s.decommissioning_workers))}
    ${card("Under-replicated", esc(s.under_replicated))}
    ${card("Missing", esc(s.missing))}
    ${card("Corrupt", esc(s.corrupt))}
    ${card("Pending deletion", esc(s.pending_deletion))}
  </div>
  ${s.safe_mode ? `<p class="muted">${esc(s.safe_mode_status)}</p>` : ""}`;
}

function tiersText(tiers) {
  return tiers.map((t) => `${esc(t.medium)} ${usage(t.used, t.capacity)}`).join("<br>");
}

function workersTable(workers) {
  const rows = workers.map((w) => `<tr data-worker="${esc(w.id)}">
      <td>${workerLink(w.id)}</td>
      <td>${esc(w.data_address)}</td>
      <td>${esc(w.rack)}</td>
      <td class="state state-${esc(w.state)}">${esc(w.state)}</td>
      <td>${usage(w.used, w.capacity)}</td>
      <td>${tiersText(w.tiers)}</td>
      <td class="num">${esc(w.blocks)}</td>
      <td class="num">${esc(ago(w.last_heartbeat_ms_ago))}</td>
    </tr>`).join("");
  return `<table id="workers"><thead><tr>
      <th>Worker</th><th>Address</th><th>Rack</th><th>State</th><th>Capacity / use</th>
      <th>Per tier</th><th class="num">Blocks</th><th class="num">Last heartbeat</th>
    </tr></thead><tbody>${rows ||
      '<tr><td colspan="8" class="muted">No worker has registered.</td></tr>'}</tbody></table>`;
}

function unhealthyTable(u) {
  if (!u) {
    return "";
  }
  const total = u.under_replicated + u.missing + u.corrupt;
  const rows = u.blocks.map((b) => `<tr data-block="${esc(b.block)}">
      <td class="state ${b.health === "under-replicated" ? "state-decommissioning" : "state-dead"}">
        ${esc(b.health)}</td>
      <td><code>${esc(b.block)}</code></td>
      <td>${browseLink(b.path)}</td>
      <td class="num">${esc(b.live.length)} / ${esc(b.expected)}</td>
      <td>${b.live.map(workerLink).join(", ")}</td>
      <td>${b.corrupt.map(workerLink).join(", ")}</td>
    </tr>`).join("");
  const shown = u.blocks.length < total ? ` (first ${u.blocks.length} shown)` : "";
  return `<h2>Unhealthy blocks: ${esc(u.missing)} missing, ${esc(u.corrupt)} corrupt,
      ${esc(u.under_replicated)} under-replicated${esc(shown)}</h2>
    <table id="unhealthy"><thead><tr><th>State</th><th>Block</th><th>File</th>
      <th class="num">Live / expected</th><th>Live on</th><th>Corrupt on</th></tr></thead>
    <tbody>${rows || '<tr><td colspan="6" class="muted">Every block is healthy.</td></tr>'}
    </tbody></table>`;
}

function overview() {
  const c = state.cluster;
  if (!c) {
    return '<p class="muted">Loading…</p>';
  }
  return `${summaryCards(c.summary)}
    <h2>Workers</h2>${workersTable(c.workers)}
    ${unhealthyTable(state.unhealthy)}
    <p class="muted">Cluster ${esc(c.summary.cluster_id)}</p>`;
}

function workerPage(id) {
  const c = state.cluster;
  if (!c) {
    return '<p class="muted">Loading…</p>';
  }
  const w = c.workers.find((x) => x.id === id);
  if (!w) {
    return `<p>No worker ${esc(id)} is known to the master.</p>`;
  }
  const metrics = w.http_address
    ? `<a href="http://${esc(w.http_address)}/metrics">http://${esc(w.http_address)}/metrics</a>`
    : "none";
  const tiers = w.tiers.map((t) => `<tr><td>${esc(t.medium)}</td><td class="num">${esc(t.dirs)}</td>
      <td class="num">${esc(bytes(t.capacity))}</td><td class="num">${esc(bytes(t.used))}</td>
      <td class="num">${esc(bytes(t.remaining))}</td><td>${usage(t.used, t.capacity)}</td></tr>`)
    .join("");
  const held = state.unhealthy
    ? state.unhealthy.blocks.filter((b) => b.live.includes(id) || b.corrupt.includes(id))
    : [];
  return `<h2>Worker ${esc(w.id)}</h2>
    <div class="cards" id="worker">
      ${card("State", `<span id="worker-state">${esc(w.state)}</span>`, "state state-" + w.state)}
      ${card("Host", esc(w.host))}
      ${card("Rack", esc(w.rack))}
      ${card("Data address", esc(w.data_address))}
      ${card("Blocks", esc(w.blocks))}
      ${card("Last heartbeat", esc(ago(w.last_heartbeat_ms_ago)))}
      ${card("Operations in progress", esc(w.active_operations))}
      ${card("Capacity", esc(bytes(w.capacity)))}
      ${card("Used", esc(bytes(w.used)))}
      ${card("Remaining", esc(bytes(w.remaining)))}
    </div>
    <h2>Tiers</h2>
    <table><thead><tr><th>Medium</th><th class="num">Directories</th><th class="num">Capacity</th>
      <th class="num">Used</th><th class="num">Remaining</th><th>Use</th></tr></thead>
      <tbody>${tiers}</tbody></table>
    <h2>Unhealthy blocks with a replica here: ${esc(held.length)}</h2>
    <p>Metrics: ${metrics}</p>`;
}

function crumbs(path) {
  const parts = path.split("/").filter(Boolean);
  let at = "";
  const links = [browseLink("/", "/")];
  for (const part of parts) {
    at += "/" + part;
    links.push(browseLink(at, part));
  }
  return `<p class="crumbs">${links.join(" / ")}</p>`;
}

function directoryView(b) {
  const rows = b.entries.map((e) => `<tr>
      <td>${browseLink(e.path, e.name + (e.directory ? "/" : ""))}</td>
      <td class="num">${e.directory ? esc(e.children) + " entries" : esc(bytes(e.length))}</td>
      <td class="num">${e.directory ? "" : esc(e.ec_policy || e.replication)}</td>
      <td class="num">${e.directory ? "" : esc(bytes(e.block_size))}</td>
      <td>${esc(e.owner)}</td><td>${esc(e.group)}</td><td><code>${esc(e.mode)}</code></td>
      <td>${esc(time(e.modification_time))}</td></tr>`).join("");
  return `${crumbs(b.path)}
    <table id="listing"><thead><tr><th>Name</th><th class="num">Size</th>
      <th class="num">Replication</th><th class="num">Block size</th><th>Owner</th><th>Group</th>
      <th>Mode</th><th>Modified</th></tr></thead>
    <tbody>${rows || '<tr><td colspan="8" class="muted">Empty directory.</td></tr>'}</tbody>
    </table>${b.more ? '<p class="muted">More entries follow.</p>' : ""}`;
}

function fileView(b) {
  const f = b.file;
  const rows = b.blocks.map((block) => `<tr data-block="${esc(block.id)}">
      <td><code>${esc(block.id)}</code></td><td class="num">${esc(block.offset)}</td>
      <td class="num">${esc(bytes(block.length))}</td>
      <td>${block.locations.map((l) => workerLink(l.id) + ` <span class="muted">` +
        `${esc(l.data_address)} ${esc(l.rack)}${l.index == null ? "" : " #" + esc(l.index)}` +
        `</span>`).join("<br>") || '<span class="state state-dead">no live replica</span>'}</td>
    </tr>`).join("");
  return `${crumbs(b.path)}
    <div class="cards">
      ${card("Size", esc(bytes(f.length)))}
      ${card(f.ec_policy ? "Erasure coding" : "Replication", esc(f.ec_policy || f.replication))}
      ${card("Block size", esc(bytes(f.block_size)))}
      ${card("Owner", esc(f.owner + ":" + f.group))}
      ${card("Mode", esc(f.mode))}
      ${card("Modified", esc(time(f.modification_time)))}
    </div>
    <h2>Blocks</h2>
    <table id="blocks"><thead><tr><th>Block</th><th class="num">Offset</th>
      <th class="num">Length</th><th>Locations</th></tr></thead>
    <tbody>${rows || '<tr><td colspan="4" class="muted">No blocks.</td></tr>'}</tbody></table>`;
}

function browseView(path) {
  const b = state.browse;
  if (state.browsed !== path || !b) {
    return `${crumbs(path)}<p class="muted">Loading…</p>`;
  }
  if (b.error) {
    return `${crumbs(path)}<p>${esc(b.error)}</p>`;
  }
  return b.directory ? directoryView(b) : fileView(b);
}

function render() {
  const r = route();
  const view = document.getElementById("view");
  if (r.view === "worker") {
    view.innerHTML = workerPage(r.id);
  } else if (r.view === "browse") {
    view.innerHTML = browseView(r.path);
  } else {
    view.innerHTML = overview();
  }
  const banner = document.getElementById("banner");
  banner.hidden = !state.error;
  banner.textContent = state.error ? "The master does not answer: " + state.error : "";
}

async function refresh() {
  const r = route();
  try {
    const [cluster, unhealthy] = await Promise.all([
      getJson("/api/cluster"),
      getJson("/api/unhealthy"),
    ]);
    state.cluster = cluster;
    state.unhealthy = unhealthy;
    if (r.view === "browse") {
      try {
        state.browse = await getJson("/api/browse?path=" + encodeURIComponent(r.path));
      } catch (e) {
        state.browse = { error: e.message };
      }
      state.browsed = r.path;
    }
    state.error = null;
    document.getElementById("updated").textContent =
      "updated " + new Date().toLocaleTimeString();
  } catch (e) {
    state.error = e.message;
  }
  render();
}

let timer = null;

function schedule() {
  clearTimeout(timer);
  timer = setTimeout(async () => {
    await refresh();
    schedule();
  }, REFRESH_MS);
}

window.addEventListener("hashchange", async () => {
  render();
  await refresh();
  schedule();
});

refresh().then(schedule);
