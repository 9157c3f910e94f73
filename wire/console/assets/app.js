// The ChronoGo console: reads the admin API every second and redraws its tables. No library,
// nothing loaded from elsewhere.
"use strict";

const history = []; // [{t, memory, disk}] of the last ten minutes
const ingest = []; // [{t, rows}]: rows written through this node's coordinator, last ten minutes
let previous = null; // the last /api/v1/actors answer and when it came, for rates
let confirming = null; // the action waiting for its confirmation click, as "flush:3"

async function get(path) {
  const r = await fetch(path, {credentials: "same-origin"});
  if (!r.ok) throw new Error(path + ": HTTP " + r.status);
  return r.json();
}

function cell(tr, text, cls) {
  const td = document.createElement("td");
  td.textContent = text;
  if (cls) td.className = cls;
  tr.appendChild(td);
}

function fill(id, rows) {
  const body = document.querySelector("#" + id + " tbody");
  body.replaceChildren(...rows);
}

function bytes(n) {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return n.toFixed(i ? 1 : 0) + " " + units[i];
}

function drawNodes(cluster) {
  fill("nodes", cluster.nodes.map(n => {
    const tr = document.createElement("tr");
    tr.dataset.node = n.id;
    const down = n.downSince || n.seen === "down";
    cell(tr, n.name + (n.self ? " (this node)" : ""));
    cell(tr, n.role);
    cell(tr, n.mongoAddr || "-");
    cell(tr, n.httpAddr || n.raftAddr || "-");
    if (n.role === "mnode") {
      cell(tr, n.leads && n.leads.length ? "voting, leader of " + n.leads.join(", ") : "voting");
    } else {
      cell(tr, down ? "down" + (n.downSince ? " since " + n.downSince : "") : "up", down ? "down" : "");
    }
    return tr;
  }));
}

function drawShards(cluster) {
  fill("shards", cluster.shards.map(s => {
    const tr = document.createElement("tr");
    tr.dataset.shard = s.name;
    cell(tr, s.name + " (" + s.id + ")");
    cell(tr, s.leaderId ? String(s.leaderId) : "none", "leader");
    cell(tr, String(s.term));
    cell(tr, Object.keys(s.members || {}).sort().join(", "));
    cell(tr, s.replicaId + (s.nonVoting ? " non-voting" : " voting") + (s.leaderId === s.replicaId ? ", leader" : ""));
    return tr;
  }));
}

function drawPlacement(vn, names) {
  const rows = [];
  for (const b of vn.buckets) {
    for (const rs of b.replicaSets) {
      for (const v of rs.vnodes) {
        const tr = document.createElement("tr");
        cell(tr, b.tenant + "/" + b.db);
        cell(tr, String(b.id));
        cell(tr, b.start);
        cell(tr, b.end);
        cell(tr, String(rs.id));
        cell(tr, String(v.id));
        cell(tr, names[v.node] || String(v.node));
        rows.push(tr);
      }
    }
  }
  fill("placement", rows);
}

function drawActors(info) {
  const root = document.getElementById("actors");
  const items = new Map();
  const top = [];
  for (const a of info.actors) {
    const li = document.createElement("li");
    li.dataset.actor = a.id;
    let text = a.id.slice(a.parent ? a.parent.length + 1 : 0);
    if (a.mailbox !== undefined) text += " [mailbox " + a.mailbox + "]";
    if (a.vnode) {
      const v = a.vnode;
      text += "  — " + v.tenant + "/" + v.db + " bucket " + v.bucket + ", " + v.files + " files, " +
        bytes(v.diskBytes) + " on disk, " + bytes(v.cacheBytes) + " in memory, " + v.series + " series";
    }
    li.textContent = text;
    if (a.vnode) actionButtons(li, a.vnode.vnode);
    items.set(a.id, li);
    const parent = a.parent && items.get(a.parent);
    if (parent) {
      let ul = parent.querySelector(":scope > ul");
      if (!ul) { ul = document.createElement("ul"); parent.appendChild(ul); }
      ul.appendChild(li);
    } else {
      top.push(li);
    }
  }
  root.replaceChildren(...top);
}

// actionButtons adds flush and compact buttons for a vnode: the first click asks for a
// confirmation, the second runs the action through the admin API.
function actionButtons(li, vnodeId) {
  for (const act of ["flush", "compact"]) {
    const key = act + ":" + vnodeId;
    const b = document.createElement("button");
    b.dataset.action = key;
    b.textContent = confirming === key ? "confirm " + act + " of vnode " + vnodeId : act;
    b.addEventListener("click", () => runAction(act, vnodeId, key));
    li.appendChild(b);
  }
  if (confirming && confirming.endsWith(":" + vnodeId)) {
    const c = document.createElement("button");
    c.dataset.action = "cancel";
    c.textContent = "cancel";
    c.addEventListener("click", () => { confirming = null; refresh(); });
    li.appendChild(c);
  }
}

async function runAction(act, vnodeId, key) {
  const out = document.getElementById("action");
  if (confirming !== key) {
    confirming = key;
    refresh();
    return;
  }
  confirming = null;
  out.textContent = act + " of vnode " + vnodeId + ": running";
  try {
    const r = await fetch("/api/v1/" + act + "?vnode=" + vnodeId, {method: "POST", credentials: "same-origin"});
    const j = await r.json();
    out.textContent = act + " of vnode " + vnodeId + ": " + (r.ok ? "done in " + j.seconds.toFixed(2) + " s" : "failed: " + j.error);
  } catch (e) {
    out.textContent = act + " of vnode " + vnodeId + ": failed: " + e.message;
  }
  refresh();
}

// rate is the change of a counter per second since the previous answer.
function rate(now, before, dt) {
  return before === undefined || dt <= 0 ? 0 : Math.max(0, now - before) / dt;
}

function ms(micros) {
  return (micros / 1000).toFixed(2) + " ms";
}

function drawCoordinator(info, names, now) {
  const co = info.coordinator || {inflight: 0, levels: {}};
  const dt = previous ? (now - previous.t) / 1000 : 0;
  const before = previous ? previous.info.coordinator.levels : {};
  document.getElementById("inflight").textContent = "writes in flight: " + co.inflight;
  let rows = 0;
  fill("levels", Object.keys(co.levels).sort().map(l => {
    const s = co.levels[l];
    rows += s.rows;
    const tr = document.createElement("tr");
    tr.dataset.level = l;
    cell(tr, l);
    cell(tr, String(s.writes));
    cell(tr, String(s.failed), s.failed ? "down" : "");
    cell(tr, String(s.rows));
    cell(tr, rate(s.rows, before[l] && before[l].rows, dt).toFixed(0));
    cell(tr, s.writes ? ms(s.totalMicros / s.writes) : "-");
    cell(tr, ms(s.maxMicros));
    return tr;
  }));
  ingest.push({t: now, rows});
  while (ingest.length > 600) ingest.shift();
  const rates = ingest.map((p, i) => i ? rate(p.rows, ingest[i - 1].rows, (p.t - ingest[i - 1].t) / 1000) : 0);
  const max = Math.max(1, ...rates);
  document.getElementById("ingest").innerHTML = '<polyline fill="none" stroke="#080" points="' +
    rates.map((r, i) => (i * 600 / 599).toFixed(1) + "," + (58 - r / max * 56).toFixed(1)).join(" ") + '"/>';
  document.getElementById("ingestLegend").textContent = "rows written per second (green), now " + rates[rates.length - 1].toFixed(0) + "; scale " + max.toFixed(0);
  const hintsBefore = {};
  if (previous) for (const h of previous.info.hints || []) hintsBefore[h.target] = h.replayed;
  fill("hints", (info.hints || []).map(h => {
    const tr = document.createElement("tr");
    tr.dataset.target = h.target;
    cell(tr, names[h.target] || String(h.target));
    cell(tr, String(h.hints));
    cell(tr, bytes(h.bytes));
    cell(tr, h.oldestSeconds ? h.oldestSeconds.toFixed(0) + " s" : "-");
    cell(tr, String(h.replayed));
    cell(tr, rate(h.replayed, hintsBefore[h.target], dt).toFixed(1));
    cell(tr, String(h.expired));
    cell(tr, String(h.refused));
    return tr;
  }));
  previous = {t: now, info};
}

const latency = []; // [{reads, writes}]: mean latency (ms) of each second's reads and writes, last ten minutes
let prevOps = null; // the last ops totals

// drawQueries shows the node's MongoDB commands by kind, and charts the mean latency of each
// second's reads (purple) and writes (green) from the differences of the totals.
function drawQueries(info, now) {
  const ops = info.ops;
  if (!ops) return;
  const dt = prevOps ? (now - prevOps.t) / 1000 : 0;
  const mean = (k, before) => {
    const n = ops[k].ops - (before ? before[k].ops : 0);
    return n > 0 ? (ops[k].latencyMicros - (before ? before[k].latencyMicros : 0)) / n / 1000 : null;
  };
  const last = {};
  fill("ops", ["reads", "writes", "commands"].map(k => {
    const tr = document.createElement("tr");
    tr.dataset.kind = k;
    last[k] = prevOps ? mean(k, prevOps.ops) : null;
    cell(tr, k);
    cell(tr, String(ops[k].ops));
    cell(tr, prevOps ? rate(ops[k].ops, prevOps.ops[k].ops, dt).toFixed(1) : "-");
    cell(tr, last[k] === null ? "-" : last[k].toFixed(2) + " ms");
    cell(tr, ops[k].ops ? (ops[k].latencyMicros / ops[k].ops / 1000).toFixed(2) + " ms" : "-");
    return tr;
  }));
  if (prevOps) {
    latency.push({reads: last.reads || 0, writes: last.writes || 0});
    while (latency.length > 600) latency.shift();
    const max = Math.max(0.001, ...latency.map(p => Math.max(p.reads, p.writes)));
    const line = key => latency.map((p, i) => (i * 600 / 599).toFixed(1) + "," + (58 - p[key] / max * 56).toFixed(1)).join(" ");
    document.getElementById("latency").innerHTML = '<polyline fill="none" stroke="#808" points="' + line("reads") + '"/>' +
      '<polyline fill="none" stroke="#080" points="' + line("writes") + '"/>';
    const now1 = latency[latency.length - 1];
    document.getElementById("latencyLegend").textContent = "mean latency per second: reads (purple) " + now1.reads.toFixed(2) +
      " ms, writes (green) " + now1.writes.toFixed(2) + " ms; scale " + max.toFixed(2) + " ms";
  }
  prevOps = {t: now, ops};
}

function drawChart(vn) {
  let memory = 0, disk = 0;
  for (const v of vn.local) { memory += v.cacheBytes; disk += v.diskBytes; }
  history.push({t: Date.now(), memory, disk});
  while (history.length > 600) history.shift();
  const svg = document.getElementById("chart");
  const max = Math.max(1, ...history.map(h => Math.max(h.memory, h.disk)));
  const line = key => history.map((h, i) => (i * 600 / 599).toFixed(1) + "," + (118 - h[key] / max * 116).toFixed(1)).join(" ");
  svg.innerHTML = '<polyline fill="none" stroke="#c60" points="' + line("memory") + '"/>' +
    '<polyline fill="none" stroke="#06c" points="' + line("disk") + '"/>';
  document.getElementById("legend").textContent = "memory (orange) " + bytes(memory) + ", disk (blue) " + bytes(disk) + "; scale " + bytes(max);
}

async function refresh() {
  try {
    const [cluster, vn, actors] = await Promise.all([get("/api/v1/cluster"), get("/api/v1/vnodes"), get("/api/v1/actors")]);
    const names = {};
    for (const n of cluster.nodes) names[n.id] = n.name;
    drawNodes(cluster);
    drawShards(cluster);
    drawPlacement(vn, names);
    drawActors(actors);
    drawQueries(actors, Date.now());
    drawCoordinator(actors, names, Date.now());
    drawChart(vn);
    document.getElementById("status").textContent = "node " + cluster.node + ", " + cluster.version + ", up " + Math.round(cluster.uptimeSeconds) + " s; updated " + new Date().toLocaleTimeString();
  } catch (e) {
    document.getElementById("status").textContent = "unavailable: " + e.message;
  }
}

refresh();
setInterval(refresh, 1000);
