// The inspector's one page: HTML, CSS and script inline (no CDN, no framework).
// Every value reaches the DOM through textContent, never innerHTML: a key or
// value holding markup shows as text.
import { PAGE_SCRIPT } from './page-script.js';

/** The page {@link inspect} serves. */
export const PAGE_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>kvbus inspector</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:13px/1.4 system-ui,sans-serif;margin:0;background:#f6f7f9;color:#1d232b}
header{background:#1d232b;color:#fff;padding:8px 14px;display:flex;gap:18px;align-items:center}
header b{font-size:15px}.stat{opacity:.9}
main{display:grid;grid-template-columns:minmax(0,3fr) minmax(0,2fr);gap:10px;padding:10px}
section{background:#fff;border:1px solid #dde1e6;border-radius:6px;padding:8px;margin-bottom:10px}
h2{font-size:13px;margin:0 0 6px;text-transform:uppercase;letter-spacing:.04em;color:#56606b}
table{width:100%;border-collapse:collapse}td,th{text-align:left;padding:2px 6px;border-bottom:1px solid #eef0f2;vertical-align:top}
td.k{font-family:ui-monospace,monospace;white-space:nowrap;max-width:260px;overflow:hidden;text-overflow:ellipsis;cursor:pointer}
td.v,pre{font-family:ui-monospace,monospace;white-space:pre-wrap;word-break:break-all}
pre{margin:0;max-height:320px;overflow:auto;background:#f6f7f9;padding:6px}
tr.fresh td{background:#fff6d6}tr.gone td{text-decoration:line-through;color:#99a}
#keys-wrap{max-height:420px;overflow:auto}#feed{max-height:220px;overflow:auto;font-family:ui-monospace,monospace}
.row{display:flex;gap:6px;margin-bottom:6px;flex-wrap:wrap}input,textarea{font:inherit}input[type=text]{flex:1}
canvas{width:100%;height:70px;display:block;background:#fbfcfd;border:1px solid #eef0f2;margin-bottom:4px}
.muted{color:#8a939c}.err{color:#b3261e}
</style></head>
<body>
<header><b>kvbus inspector</b><span class="stat" id="s-keys"></span><span class="stat" id="s-clients"></span>
<span class="stat" id="s-subs"></span><span class="stat" id="s-cmds"></span><span class="stat" id="s-conn">connecting…</span></header>
<main><div>
<section><h2>Keys</h2>
<form class="row" id="filter"><input type="text" id="glob" value="*" aria-label="glob"><button>Filter</button></form>
<div id="keys-wrap"><table><thead><tr><th>key</th><th>value</th></tr></thead><tbody id="keys"></tbody></table></div>
<div class="row"><button id="more" hidden>More keys</button><span class="muted" id="keys-count"></span></div></section>
<section><h2>Value</h2><div class="muted" id="detail-head">click a key</div><pre id="detail"></pre></section>
<section id="writes" hidden><h2>Write</h2>
<form class="row" id="set-form"><input type="text" id="set-key" placeholder="key"><input type="text" id="set-json" placeholder='JSON value, e.g. "text" or {"a":1}'>
<input type="text" id="set-ttl" placeholder="ttl ms" size="6"><button>Set</button><button type="button" id="del">Delete</button></form>
<form class="row" id="pub-form"><input type="text" id="pub-channel" placeholder="channel"><input type="text" id="pub-json" placeholder="JSON data"><button>Publish</button></form>
<div id="write-result" class="muted"></div></section>
</div><div>
<section><h2>Charts (last minutes)</h2>
<div class="muted">commands/s <span id="c-cmds"></span></div><canvas id="chart-cmds" width="600" height="70"></canvas>
<div class="muted">queue depth <span id="c-queue"></span></div><canvas id="chart-queue" width="600" height="70"></canvas>
<div class="muted">dropped (total) <span id="c-drops"></span></div><canvas id="chart-drops" width="600" height="70"></canvas></section>
<section><h2>Change feed <button id="pause">Pause</button> <span class="muted" id="feed-note"></span></h2><div id="feed"></div></section>
<section><h2>Channels (messages/s)</h2><table><tbody id="channels"></tbody></table></section>
<section><h2>Clients</h2><div class="muted" id="clients-count"></div><table><tbody id="clients"></tbody></table></section>
</div></main>
<script>${PAGE_SCRIPT}</script>
</body></html>
`;
