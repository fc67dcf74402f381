// The page's script, kept as plain ES2020 in a string (no build step, no
// backticks inside). Text reaches the DOM only through textContent.

/** The inline script of the inspector page. */
export const PAGE_SCRIPT = String.raw`
'use strict';
const token = new URLSearchParams(location.search).get('token') || '';
const $ = (id) => document.getElementById(id);
const api = (path, params) => {
  const q = new URLSearchParams(params || {}); q.set('token', token);
  return path + '?' + q.toString();
};
function el(tag, text, cls) { const e = document.createElement(tag); if (text !== undefined) e.textContent = text; if (cls) e.className = cls; return e; }

// Tagged JSON (server side: encode-value.ts) printed like a JS console would.
function show(v, ind) {
  ind = ind || '';
  if (v === null) return 'null';
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v !== 'object') return String(v);
  const more = (n) => n ? ', … ' + n + ' more' : '';
  const inner = ind + '  ';
  switch (v.$t) {
    case 'undefined': return 'undefined';
    case 'Circular': return '[Circular]';
    case 'Function': return '[Function]';
    case 'number': return v.v;
    case 'bigint': return v.v + 'n';
    case 'Symbol': return v.v;
    case 'Date': return 'Date(' + v.v + ')';
    case 'RegExp': return v.v;
    case 'Error': return v.name + ': ' + v.message;
    case 'String': return JSON.stringify(v.v) + '… (' + v.more + ' more chars)';
    case 'Bytes': return v.type + '(' + v.length + ') [' + v.v.join(', ') + more(v.more) + ']';
    case 'Array': case 'Set': {
      const head = v.$t === 'Set' ? 'Set(' + (v.v.length + (v.more || 0)) + ') ' : '';
      if (!v.v.length) return head + (v.$t === 'Set' ? '{}' : '[]');
      const open = v.$t === 'Set' ? '{' : '[', close = v.$t === 'Set' ? '}' : ']';
      return head + open + '\n' + v.v.map((x) => inner + show(x, inner)).join(',\n') + more(v.more) + '\n' + ind + close;
    }
    case 'Map':
      if (!v.v.length) return 'Map(0) {}';
      return 'Map(' + (v.v.length + (v.more || 0)) + ') {\n' + v.v.map((kv) => inner + show(kv[0], inner) + ' => ' + show(kv[1], inner)).join(',\n') + more(v.more) + '\n' + ind + '}';
    case 'Object':
      if (!v.v.length) return v.more ? '{…}' : '{}';
      return '{\n' + v.v.map((kv) => inner + JSON.stringify(kv[0]) + ': ' + show(kv[1], inner)).join(',\n') + more(v.more) + '\n' + ind + '}';
  }
  return JSON.stringify(v);
}
const oneLine = (v) => show(v).replace(/\n\s*/g, ' ');

// Redis-style glob (* ? [abc] [^a] [a-z] \x) as a RegExp, to place live changes.
const esc = (c) => c.replace(/[.*+?^$(){}|[\]\\\/]/g, '\\$&');
function globRe(glob) {
  let re = '^';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === '*') re += '[\\s\\S]*';
    else if (c === '?') re += '[\\s\\S]';
    else if (c === '\\' && i + 1 < glob.length) re += esc(glob[++i]);
    else if (c === '[') { const end = glob.indexOf(']', i + 2); if (end < 0) { re += '\\['; continue; }
      let set = glob.slice(i + 1, end).replace(/\\/g, '\\\\'); if (set[0] === '^') set = '^' + set.slice(1); re += '[' + set + ']'; i = end; }
    else re += esc(c);
  }
  try { return new RegExp(re + '$'); } catch (e) { return /^$/; }
}

// --- keys ---
let glob = '*', cursor = null, matcher = globRe('*');
const rows = new Map();
function keyRow(key, value, fresh) {
  let tr = rows.get(key);
  if (!tr) {
    tr = el('tr'); const k = el('td', key, 'k'); k.title = key; k.onclick = () => openKey(key);
    tr.append(k, el('td', '', 'v')); rows.set(key, tr);
    if (fresh) $('keys').prepend(tr); else $('keys').append(tr);
  }
  tr.className = fresh ? 'fresh' : '';
  tr.lastChild.textContent = oneLine(value);
  $('keys-count').textContent = rows.size + ' shown' + (cursor ? ' (more to load)' : '');
  return tr;
}
async function loadKeys(next) {
  const params = next ? { cursor: cursor, limit: 100 } : { glob: glob, limit: 100 };
  const res = await fetch(api('/api/keys', params));
  if (res.status === 410) return filter();
  const page = await res.json();
  for (const item of page.keys) keyRow(item.key, item.value, false);
  cursor = page.cursor;
  $('more').hidden = !cursor;
  $('keys-count').textContent = rows.size + ' shown' + (cursor ? ' (more to load)' : '');
}
function filter() {
  glob = $('glob').value || '*'; matcher = globRe(glob); cursor = null;
  rows.clear(); $('keys').replaceChildren();
  return loadKeys(false);
}
$('filter').onsubmit = (e) => { e.preventDefault(); filter(); };
$('more').onclick = () => loadKeys(true);
let openedKey = null;
async function openKey(key) {
  openedKey = key;
  const r = await (await fetch(api('/api/key', { key: key }))).json();
  $('detail-head').textContent = r.found
    ? key + '  ·  revision ' + r.revision + '  ·  ' + (r.ttlMs === null ? 'no TTL' : 'TTL ' + (r.ttlMs / 1000).toFixed(1) + ' s')
    : key + '  ·  (absent)';
  $('detail').textContent = r.found ? show(r.value) : '';
  if ($('set-key')) $('set-key').value = key;
}

// --- change feed ---
let paused = false, held = 0;
$('pause').onclick = () => { paused = !paused; $('pause').textContent = paused ? 'Resume' : 'Pause'; if (!paused) { held = 0; $('feed-note').textContent = ''; } };
function onChanges(batch) {
  for (const ev of batch.events) {
    if (ev.type === 'clear') { for (const tr of rows.values()) tr.className = 'gone'; }
    else if (matcher.test(ev.key)) {
      if (ev.type === 'set') keyRow(ev.key, ev.value, true);
      else { const tr = rows.get(ev.key); if (tr) tr.className = 'gone'; }
    }
    if (ev.key === openedKey) openKey(openedKey);
    if (paused) { held++; continue; }
    const line = el('div');
    line.textContent = new Date(ev.t).toLocaleTimeString() + '  #' + ev.revision + '  ' + ev.type + '  ' + ev.key + (ev.type === 'set' ? ' = ' + oneLine(ev.value) : '');
    $('feed').prepend(line);
  }
  while ($('feed').childElementCount > 200) $('feed').lastChild.remove();
  if (batch.missed) $('feed-note').textContent = batch.missed + ' changes not shown (too many at once)';
  if (paused) $('feed-note').textContent = 'paused: ' + held + ' changes not shown';
}

// --- stats, channels, charts ---
let samples = [];
const rates = new Map();
function chart(id, key, color) {
  const c = $(id), g = c.getContext('2d'), w = c.width, h = c.height;
  g.clearRect(0, 0, w, h);
  const vals = samples.map((s) => s[key]);
  const max = Math.max(1, ...vals);
  g.strokeStyle = '#e3e6ea'; g.beginPath(); g.moveTo(0, h - 0.5); g.lineTo(w, h - 0.5); g.stroke();
  g.strokeStyle = color; g.lineWidth = 1.5; g.beginPath();
  vals.forEach((v, i) => { const x = w - (vals.length - 1 - i) * (w / 299), y = h - 4 - (v / max) * (h - 14); i ? g.lineTo(x, y) : g.moveTo(x, y); });
  g.stroke(); g.fillStyle = '#56606b'; g.font = '10px sans-serif'; g.fillText('max ' + max, 4, 10);
}
function onSample(s) {
  samples.push(s); if (samples.length > 300) samples.shift();
  const st = s.stats;
  $('s-keys').textContent = st.keys + ' keys'; $('s-clients').textContent = st.clients + ' clients';
  $('s-subs').textContent = st.subscriptions + ' subscriptions'; $('s-cmds').textContent = s.commandsPerSec + ' cmd/s';
  $('c-cmds').textContent = s.commandsPerSec; $('c-queue').textContent = s.queueDepth; $('c-drops').textContent = s.dropped;
  $('clients-count').textContent = st.clients + ' connected (workers and child processes)';
  for (const name of rates.keys()) rates.set(name, 0);
  for (const name in s.channels) rates.set(name, s.channels[name]);
  const body = $('channels'); body.replaceChildren();
  [...rates.entries()].sort((a, b) => b[1] - a[1]).slice(0, 50).forEach((r) => { const tr = el('tr'); tr.append(el('td', r[0], 'k'), el('td', String(r[1]))); body.append(tr); });
  if (!rates.size) body.append(el('tr', 'no messages yet', 'muted'));
  chart('chart-cmds', 'commandsPerSec', '#2f6fdb'); chart('chart-queue', 'queueDepth', '#b36b00'); chart('chart-drops', 'dropped', '#b3261e');
}
const peers = new Map();
function drawPeers() {
  const body = $('clients'); body.replaceChildren();
  for (const p of peers.values()) {
    const tr = el('tr');
    const who = p.kind + ' #' + p.id + (p.threadId !== undefined ? ' thread ' + p.threadId : '') + (p.pid !== undefined ? ' pid ' + p.pid : '');
    tr.append(el('td', who, 'k'), el('td', 'since ' + new Date(p.since || p.t).toLocaleTimeString()));
    body.append(tr);
  }
}
function onPeer(p) { if (p.type === 'join') peers.set(p.id, p); else peers.delete(p.id); if (!listed) drawPeers(); }
// A main-thread store lists its clients each second: thread or process id, subscriptions, buffer use, drops.
let listed = false;
function onClients(list) {
  listed = true;
  const body = $('clients'); body.replaceChildren();
  for (const c of list) {
    const tr = el('tr');
    const who = c.kind + ' #' + c.id + (c.threadId !== undefined ? ' thread ' + c.threadId : '') + (c.pid !== undefined ? ' pid ' + c.pid : '');
    tr.append(el('td', who, 'k'), el('td', c.subscriptions + ' subscriptions · ' + c.buffered + ' buffered · ' + c.dropped + ' dropped'));
    body.append(tr);
  }
  if (!list.length) body.append(el('tr', 'no worker or child connected', 'muted'));
}

// --- writes ---
async function post(path, body) {
  const res = await fetch(api(path), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const r = await res.json();
  $('write-result').textContent = res.ok ? path.slice(5) + ': ' + JSON.stringify(r) : 'error: ' + r.error;
  $('write-result').className = res.ok ? 'muted' : 'err';
}
$('set-form').onsubmit = (e) => { e.preventDefault(); post('/api/set', { key: $('set-key').value, json: $('set-json').value, ttlMs: $('set-ttl').value }); };
$('del').onclick = () => post('/api/delete', { key: $('set-key').value });
$('pub-form').onsubmit = (e) => { e.preventDefault(); post('/api/publish', { channel: $('pub-channel').value, json: $('pub-json').value }); };

// --- start ---
fetch(api('/api/info')).then((r) => r.json()).then((info) => { $('writes').hidden = !info.allowWrites; });
filter();
const events = new EventSource(api('/api/events'));
events.addEventListener('hello', (e) => { const h = JSON.parse(e.data); samples = []; h.samples.forEach(onSample); h.peers.forEach(onPeer); $('s-conn').textContent = 'live'; document.body.dataset.live = '1'; });
events.addEventListener('changes', (e) => onChanges(JSON.parse(e.data)));
events.addEventListener('sample', (e) => onSample(JSON.parse(e.data)));
events.addEventListener('peer', (e) => onPeer(JSON.parse(e.data)));
events.addEventListener('clients', (e) => onClients(JSON.parse(e.data)));
events.onerror = () => { $('s-conn').textContent = 'reconnecting…'; };
`;
