// The ChronoGo console: reads the admin API every second and redraws its tables. No library,
// nothing loaded from elsewhere.
"use strict";

const history = []; // [{t, memory, disk}] of the last ten minutes
const ingest = []; // [{t, rows}]: rows written through this node's coordinator, last ten minutes
let previous = null; // the last /api/v1/actors answer and when it came, for rates
let confirming = null; // the action waiting for its confirmation click, as "flush:3"
const moveTo = {}; // vnode id -> the node chosen to move it to

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
    cell(tr, "applied " + (s.applied || "-") + ", last " + s.lastIndex);
    cell(tr, s.snapshot ? "at " + s.snapshot : "none");
    return tr;
  }));
}

function drawPlacement(vn, cluster) {
  const names = {};
  for (const n of cluster.nodes) names[n.id] = n.name;
  const dataNodes = cluster.nodes.filter(n => n.id && n.role !== "mnode" && !(n.downSince || n.seen === "down"));
  const rows = [];
  for (const b of vn.buckets) {
    for (const rs of b.replicaSets) {
      for (const v of rs.vnodes) {
        const tr = document.createElement("tr");
        tr.dataset.vnode = v.id;
        cell(tr, b.tenant + "/" + b.db);
        cell(tr, String(b.id));
        cell(tr, b.start);
        cell(tr, b.end);
        cell(tr, String(rs.id));
        cell(tr, String(v.id) + (v.joining ? " (joining)" : ""));
        cell(tr, names[v.node] || String(v.node));
        const td = document.createElement("td");
        const targets = dataNodes.filter(n => !rs.vnodes.some(o => o.node === n.id));
        if (!v.joining && targets.length) {
          const key = "move:" + v.id;
          let to = moveTo[v.id];
          if (!targets.some(n => n.id === to)) to = moveTo[v.id] = targets[0].id;
          if (confirming === key) {
            const sel = document.createElement("select");
            sel.dataset.moveTarget = v.id;
            for (const n of targets) {
              const o = document.createElement("option");
              o.value = n.name || String(n.id);
              o.textContent = n.name || String(n.id);
              o.selected = n.id === to;
              sel.appendChild(o);
            }
            sel.addEventListener("change", () => { moveTo[v.id] = targets[sel.selectedIndex].id; });
            td.appendChild(sel);
          }
          confirmable(td, key, "move", "confirm move of vnode " + v.id, () => {
            // node ids above 2^53 lose digits in JSON numbers: nodes go by name where they have one
            const q = new URLSearchParams({tenant: b.tenant, db: b.db, bucket: b.id, replicaSet: rs.id, from: names[v.node] || v.node, to: names[moveTo[v.id]] || moveTo[v.id]});
            return post("/api/v1/vnodes/move?" + q, "move of vnode " + v.id + " to " + (names[moveTo[v.id]] || moveTo[v.id]),
              j => "done in " + j.seconds.toFixed(1) + " s, " + j.report.points_copied + " points copied");
          });
        }
        tr.appendChild(td);
        rows.push(tr);
      }
    }
  }
  fill("placement", rows);
}

// drawDatabases lists every database and its collections, with what this node holds of them.
function drawDatabases(dbs) {
  const rows = [];
  for (const d of dbs.databases) {
    const tr = document.createElement("tr");
    tr.dataset.db = d.tenant + "/" + d.name;
    cell(tr, d.tenant + "/" + d.name, "leader");
    cell(tr, "");
    cell(tr, "database: " + d.replicationFactor + " replicas, " + d.shardCount + " shards, " + d.consistency);
    cell(tr, String(d.series));
    cell(tr, "");
    cell(tr, bytes(d.diskBytes) + " on disk, " + bytes(d.cacheBytes) + " in memory (" + d.vnodes + " vnodes here)");
    rows.push(tr);
    for (const c of d.collections) {
      const r = document.createElement("tr");
      r.dataset.collection = d.tenant + "/" + d.name + "." + c.name;
      cell(r, "");
      cell(r, c.name);
      cell(r, c.type === "timeseries" ? "time series (" + c.timeField + (c.metaField ? ", " + c.metaField : "") + ")" +
        (c.expireAfterSeconds !== undefined ? ", expires after " + c.expireAfterSeconds + " s" : "") : "collection");
      cell(r, c.type === "timeseries" ? String(c.series) : "-");
      cell(r, c.type === "timeseries" ? "-" : String(c.documents));
      cell(r, c.type === "timeseries" ? "" : bytes(c.bytes));
      rows.push(r);
    }
  }
  fill("databases", rows);
}

// drawCursors lists the reader's open cursors (scans of this node's vnodes).
function drawCursors(info, names) {
  fill("cursors", (info.cursors || []).map(c => {
    const tr = document.createElement("tr");
    tr.dataset.cursor = c.id;
    cell(tr, String(c.id));
    cell(tr, String(c.vnode));
    cell(tr, c.db + "." + c.table);
    cell(tr, c.requester || "this node");
    cell(tr, c.ageSeconds.toFixed(1) + " s");
    cell(tr, String(c.requests));
    return tr;
  }));
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
      text += "  — " + v.tenant + "/" + v.db + " bucket " + v.bucket + ", " + v.files + " files" +
        (v.filesPerLevel ? " (by level " + v.filesPerLevel.join("/") + ")" : "") + ", " +
        bytes(v.diskBytes) + " on disk, " + bytes(v.cacheBytes) + " in memory, " + v.series + " series";
      if (v.job) {
        text += "; running " + v.job + " for " + v.jobSeconds.toFixed(1) + " s" +
          (v.compactionTotal ? ", compaction " + (100 * (v.compactionDone || 0) / v.compactionTotal).toFixed(0) + "%" : "");
      }
    }
    if (a.cursor) {
      const c = a.cursor;
      text += "  — scan of vnode " + c.vnode + " (" + c.db + "." + c.table + ") for " + (c.requester || "this node") +
        ", " + c.requests + " requests, open " + c.ageSeconds.toFixed(1) + " s";
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

// actionButtons adds flush and compact buttons for a vnode.
function actionButtons(li, vnodeId) {
  for (const act of ["flush", "compact"]) {
    confirmable(li, act + ":" + vnodeId, act, "confirm " + act + " of vnode " + vnodeId,
      () => post("/api/v1/" + act + "?vnode=" + vnodeId, act + " of vnode " + vnodeId, j => "done in " + j.seconds.toFixed(2) + " s"));
  }
}

// confirmable adds an action button: the first click asks for a confirmation (the button then
// says confirmLabel, beside a cancel button), the second runs run().
function confirmable(parent, key, label, confirmLabel, run) {
  const b = document.createElement("button");
  b.dataset.action = key;
  b.textContent = confirming === key ? confirmLabel : label;
  b.addEventListener("click", () => {
    if (confirming !== key) {
      confirming = key;
      refresh();
      return;
    }
    confirming = null;
    run().then(refresh);
  });
  parent.appendChild(b);
  if (confirming === key) {
    const c = document.createElement("button");
    c.dataset.action = "cancel";
    c.textContent = "cancel";
    c.addEventListener("click", () => { confirming = null; refresh(); });
    parent.appendChild(c);
  }
}

// post runs an action through the admin API and says how it went (done(answer) on success).
async function post(path, what, done) {
  const out = document.getElementById("action");
  out.textContent = what + ": running";
  try {
    const r = await fetch(path, {method: "POST", credentials: "same-origin"});
    const j = await r.json();
    out.textContent = what + ": " + (r.ok ? done(j) : "failed: " + j.error);
  } catch (e) {
    out.textContent = what + ": failed: " + e.message;
  }
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
  plot("ingest", 80, [{label: "rows/s", stroke: "#080"}], [ingest.map(p => p.t / 1000), rates]);
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
    const td = document.createElement("td");
    if (h.hints > 0) {
      const who = names[h.target] || String(h.target);
      confirmable(td, "handover:" + h.target, "hand over", "confirm: hand the hints for " + who + " to the other replicas",
        () => post("/api/v1/hints/handover?node=" + encodeURIComponent(names[h.target] || h.target), "hand-over of the hints for " + who,
          j => j.handedOver + " handed over, " + j.remaining + " remain" + (j.stopped ? " (" + j.stopped + ")" : "")));
    }
    tr.appendChild(td);
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
    latency.push({t: now, reads: last.reads || 0, writes: last.writes || 0});
    while (latency.length > 600) latency.shift();
    const max = Math.max(0.001, ...latency.map(p => Math.max(p.reads, p.writes)));
    plot("latency", 80, [{label: "reads ms", stroke: "#808"}, {label: "writes ms", stroke: "#080"}],
      [latency.map(p => p.t / 1000), latency.map(p => p.reads), latency.map(p => p.writes)]);
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
  const max = Math.max(1, ...history.map(h => Math.max(h.memory, h.disk)));
  plot("chart", 140, [{label: "memory MiB", stroke: "#c60"}, {label: "disk MiB", stroke: "#06c"}],
    [history.map(h => h.t / 1000), history.map(h => h.memory / 1048576), history.map(h => h.disk / 1048576)]);
  document.getElementById("legend").textContent = "memory (orange) " + bytes(memory) + ", disk (blue) " + bytes(disk) + "; scale " + bytes(max);
}

const plots = {}; // element id -> uPlot chart (vendor/uPlot.iife.min.js, MIT: vendor/uPlot.LICENSE)

// plot draws data ([times in s, ...series]) in the element id, as a uPlot time chart made on
// first use.
function plot(id, height, series, data) {
  let u = plots[id];
  if (!u) {
    const el = document.getElementById(id);
    u = plots[id] = new uPlot({width: 600, height, series: [{}, ...series.map(s => Object.assign({width: 1.5}, s))],
      axes: [{}, {size: 60}], legend: {show: true}, cursor: {show: false}}, data, el);
    return;
  }
  u.setData(data);
}

async function refresh() {
  try {
    const [cluster, vn, actors, dbs] = await Promise.all([get("/api/v1/cluster"), get("/api/v1/vnodes"), get("/api/v1/actors"), get("/api/v1/databases")]);
    const names = {};
    for (const n of cluster.nodes) names[n.id] = n.name;
    drawNodes(cluster);
    drawShards(cluster);
    drawPlacement(vn, cluster);
    drawDatabases(dbs);
    drawActors(actors);
    drawCursors(actors, names);
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
