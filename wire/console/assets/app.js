// The ChronoGo console: reads the admin API every second and redraws its tables. No library,
// nothing loaded from elsewhere.
"use strict";

const history = []; // [{t, memory, disk}] of the last ten minutes
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
    cell(tr, n.httpAddr || "-");
    cell(tr, down ? "down" + (n.downSince ? " since " + n.downSince : "") : "up", down ? "down" : "");
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
    drawChart(vn);
    document.getElementById("status").textContent = "node " + cluster.node + ", " + cluster.version + ", up " + Math.round(cluster.uptimeSeconds) + " s; updated " + new Date().toLocaleTimeString();
  } catch (e) {
    document.getElementById("status").textContent = "unavailable: " + e.message;
  }
}

refresh();
setInterval(refresh, 1000);
