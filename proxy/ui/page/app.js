// The live view: one EventSource feed from this proxy (/ui/events), drawn with
// cytoscape (the mesh) and Chart.js (the figures). No build step.
'use strict'

const $ = (selector) => document.querySelector(selector)
const short = (peer) => (peer ? `${peer.slice(0, 8)}…${peer.slice(-4)}` : '—')
const state = { frame: null, selected: null, topic: null, nodeNames: new Map() }

const cy = cytoscape({
  container: $('#mesh'),
  style: [
    { selector: 'node', style: { label: 'data(label)', 'background-color': '#4f7cff', color: '#1d2330', 'font-size': 11 } },
    { selector: 'node.down', style: { 'background-color': '#b3261e' } },
    { selector: 'node.reached', style: { 'border-width': 3, 'border-color': '#157a3c' } },
    { selector: 'edge', style: { width: 2, 'line-color': '#9aa6c2' } },
  ],
  userZoomingEnabled: false,
})

const series = { labels: [], delivered: [], published: [], avg: [], p95: [], bloat: [] }
const chart = (id, datasets, title) =>
  new Chart($(id), {
    type: 'line',
    data: { labels: series.labels, datasets },
    options: { animation: false, responsive: true, plugins: { title: { display: true, text: title } }, scales: { x: { display: false } } },
  })
const charts = [
  chart('#throughput', [{ label: 'delivered', data: series.delivered }, { label: 'published', data: series.published }], 'Throughput (messages per window)'),
  chart('#latency', [{ label: 'average ms', data: series.avg }, { label: 'p95 ms', data: series.p95 }], 'Latency to each node (ms)'),
  chart('#amplification', [{ label: 'bytes moved / ideal', data: series.bloat }], 'Amplification'),
]

function nodeName(peer) {
  return state.nodeNames.get(peer) ?? short(peer)
}

function renderNodes(live) {
  state.nodeNames = new Map(live.nodes.filter((n) => n.peer_id).map((n, i) => [n.peer_id, `node ${i + 1}`]))
  $('#nodes tbody').innerHTML = live.nodes
    .map((n, i) => {
      const mesh = new Set(Object.values(n.mesh).flat())
      const pct = (v) => (v === null ? '—' : `${v.toFixed(1)}%`)
      return `<tr class="${n.state}" data-node="${n.address}"><td>node ${i + 1} <span class="muted">${n.address}</span></td>` +
        `<td title="${n.peer_id}">${short(n.peer_id)}</td><td>${n.state}</td><td>${pct(n.cpu)}</td><td>${pct(n.memory)}</td><td>${mesh.size}</td></tr>`
    })
    .join('')
}

function renderMesh(live) {
  const select = $('#topic')
  const topics = live.topics
  if (select.options.length !== topics.length || [...select.options].some((o, i) => o.value !== topics[i])) {
    select.innerHTML = topics.map((t) => `<option>${t}</option>`).join('')
    if (state.topic && topics.includes(state.topic)) select.value = state.topic
  }
  state.topic = select.value || topics[0] || null
  const ids = new Set(live.nodes.filter((n) => n.peer_id).map((n) => n.peer_id))
  const edges = new Map()
  for (const n of live.nodes) {
    for (const peer of (state.topic && n.mesh[state.topic]) || []) {
      if (!ids.has(peer)) continue
      const key = [n.peer_id, peer].sort().join('|')
      edges.set(key, { data: { id: key, source: n.peer_id, target: peer } })
    }
  }
  const reached = reachedNodes(selectedMessage(live))
  let added = false
  cy.batch(() => {
    for (const n of live.nodes) {
      if (!n.peer_id) continue
      let el = cy.getElementById(n.peer_id)
      if (el.empty()) {
        el = cy.add({ data: { id: n.peer_id, label: nodeName(n.peer_id) } })
        added = true
      }
      el.toggleClass('down', n.state !== 'up')
      el.toggleClass('reached', reached.has(n.peer_id))
    }
    cy.edges().forEach((e) => { if (!edges.has(e.id())) e.remove() })
    for (const [key, edge] of edges) if (cy.getElementById(key).empty()) cy.add(edge)
  })
  if (added) cy.layout({ name: 'circle', padding: 30 }).run()
  $('#mesh-edges').textContent = state.topic ? `${edges.size} mesh links on “${state.topic}”` : 'no topic yet'
  $('#mesh-edges').dataset.edges = String(edges.size)
}

function selectedMessage(live) {
  return live.messages.find((m) => m.id === state.selected) ?? live.messages[0] ?? null
}

function reachedNodes(message) {
  const reached = new Set()
  if (!message) return reached
  if (message.publisher) reached.add(message.publisher)
  for (const [peer, t] of Object.entries(message.nodes)) if (t.decoded !== null) reached.add(peer)
  return reached
}

function renderTimeline(live) {
  $('#messages').innerHTML = live.messages
    .map((m) => `<li data-message="${m.id}" class="${m.id === (selectedMessage(live) || {}).id ? 'selected' : ''}">` +
      `${m.topic} · ${m.size === null ? '?' : m.size.toLocaleString()} B · <span class="muted">${m.id}</span></li>`)
    .join('')
  const message = selectedMessage(live)
  if (!message) {
    $('#timeline').innerHTML = '<p class="muted">Publish a message to see it spread.</p>'
    return
  }
  const start = message.published ?? Math.min(...Object.values(message.nodes).map((t) => t.first_shard ?? t.decoded ?? Infinity))
  const ms = (t) => (t === null || t === undefined ? '—' : `+${Math.max(0, t - start).toFixed(0)} ms`)
  const reached = reachedNodes(message)
  const named = live.nodes.filter((n) => n.peer_id)
  const rows = named.map((n) => {
    const t = message.nodes[n.peer_id] || { first_shard: null, decoded: null }
    const role = n.peer_id === message.publisher ? 'published' : t.decoded !== null ? 'decoded' : 'waiting'
    return `<tr data-peer="${n.peer_id}" data-role="${role}"><td>${nodeName(n.peer_id)}</td><td>${ms(t.first_shard)}</td><td>${ms(t.decoded)}</td><td>${role}</td></tr>`
  })
  const clients = message.thresholds.map((c) =>
    `<tr><td>${c.client}</td><td>${c.threshold} → ${c.needed} node${c.needed === 1 ? '' : 's'}</td><td>${c.met_at === null ? 'not yet' : ms(c.met_at)}</td></tr>`)
  $('#timeline').innerHTML =
    `<p id="reached" data-reached="${reached.size}" data-total="${named.length}">Reached ${reached.size} of ${named.length} nodes</p>` +
    `<table><thead><tr><th>node</th><th>first shard</th><th>decoded</th><th></th></tr></thead><tbody>${rows.join('')}</tbody></table>` +
    (clients.length ? `<table><thead><tr><th>client</th><th>threshold</th><th>met</th></tr></thead><tbody>${clients.join('')}</tbody></table>` : '')
}

function renderCharts(tracer) {
  if (!tracer) return
  $('#algorithm').textContent = tracer.algorithm
  $('#window').textContent = tracer.window_seconds
  const keep = 120
  series.labels.push(new Date().toLocaleTimeString())
  series.delivered.push(tracer.delivered_messages)
  series.published.push(tracer.published_messages)
  series.avg.push(tracer.average_delay_seconds * 1000)
  series.p95.push(tracer.p95 * 1000)
  series.bloat.push(tracer.bloat_factor)
  for (const list of Object.values(series)) if (list.length > keep) list.shift()
  for (const c of charts) c.update()
}

let lastTracer = null
function render(frame) {
  state.frame = frame
  renderNodes(frame.live)
  renderMesh(frame.live)
  renderTimeline(frame.live)
  if (frame.tracer && frame.tracer !== lastTracer && JSON.stringify(frame.tracer) !== JSON.stringify(lastTracer)) {
    lastTracer = frame.tracer
    renderCharts(frame.tracer)
  }
}

$('#messages').addEventListener('click', (event) => {
  const li = event.target.closest('li[data-message]')
  if (!li) return
  state.selected = li.dataset.message
  if (state.frame) render(state.frame)
})
$('#topic').addEventListener('change', () => {
  state.topic = $('#topic').value
  if (state.frame) render(state.frame)
})

async function post(path, body) {
  const response = await fetch(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
  const json = await response.json().catch(() => ({}))
  $('#form-result').textContent = response.ok ? JSON.stringify(json) : `error ${response.status}: ${json.error ?? ''}`
  return json
}
$('#subscribe').addEventListener('submit', (event) => {
  event.preventDefault()
  const form = new FormData(event.target)
  state.topic = form.get('topic')
  void post('/api/v1/subscribe', { client_id: form.get('client_id'), topic: form.get('topic'), threshold: Number(form.get('threshold')) })
})
$('#publish').addEventListener('submit', async (event) => {
  event.preventDefault()
  const sub = new FormData($('#subscribe'))
  const form = new FormData(event.target)
  const body = { client_id: sub.get('client_id'), topic: sub.get('topic') }
  if (form.get('message')) body.message = form.get('message')
  else body.message_length = Number(form.get('size') || 1024)
  const json = await post('/api/v1/publish', body)
  if (json.message_id) state.selected = json.message_id
})

const feed = new EventSource('/ui/events')
feed.onopen = () => { $('#feed').textContent = 'live' }
feed.onerror = () => { $('#feed').textContent = 'reconnecting…' }
feed.onmessage = (event) => render(JSON.parse(event.data))
window.liveView = { cy, state, series }
