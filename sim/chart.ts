/**
 * A small hand-written SVG line chart: a grid of panels, each with its axes,
 * ticks and one polyline per series. Enough for the sweep's figures without
 * a plotting dependency.
 */
export interface Series {
  name: string
  points: Array<[number, number]>
}

export interface Panel {
  title: string
  xLabel: string
  yLabel: string
  series: Series[]
  /** Draw the x axis on a log2 scale (shard factor). */
  logX?: boolean
}

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b']
const W = 380
const H = 250
const M = { left: 60, right: 15, top: 30, bottom: 45 }

function esc(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
}

function ticks(low: number, high: number, count = 5): number[] {
  if (high <= low) return [low]
  const raw = (high - low) / count
  const step = [1, 2, 2.5, 5, 10].map((m) => m * 10 ** Math.floor(Math.log10(raw))).find((s) => s >= raw)!
  const out: number[] = []
  for (let t = Math.ceil(low / step) * step; t <= high + step * 1e-9; t += step) out.push(Math.round(t * 1e6) / 1e6)
  return out
}

function panel(p: Panel, ox: number, oy: number, names: string[]): string {
  const all = p.series.flatMap((s) => s.points)
  if (all.length === 0) return ''
  const fx = (x: number): number => (p.logX ? Math.log2(x) : x)
  const xs = all.map(([x]) => fx(x))
  const ys = all.map(([, y]) => y)
  const [x0, x1] = [Math.min(...xs), Math.max(...xs)]
  const y1 = Math.max(...ys) * 1.08 || 1
  const y0 = 0
  const px = (x: number): number => ox + M.left + ((fx(x) - x0) / (x1 - x0 || 1)) * (W - M.left - M.right)
  const py = (y: number): number => oy + H - M.bottom - ((y - y0) / (y1 - y0)) * (H - M.top - M.bottom)
  const parts: string[] = []
  parts.push(`<text x="${ox + W / 2}" y="${oy + 18}" text-anchor="middle" font-weight="bold">${esc(p.title)}</text>`)
  parts.push(`<line x1="${ox + M.left}" y1="${py(y0)}" x2="${ox + W - M.right}" y2="${py(y0)}" stroke="#333"/>`)
  parts.push(`<line x1="${ox + M.left}" y1="${oy + M.top}" x2="${ox + M.left}" y2="${py(y0)}" stroke="#333"/>`)
  for (const t of ticks(y0, y1)) {
    parts.push(`<line x1="${ox + M.left - 4}" y1="${py(t)}" x2="${ox + W - M.right}" y2="${py(t)}" stroke="#eee"/>`)
    parts.push(`<text x="${ox + M.left - 6}" y="${py(t) + 4}" text-anchor="end" font-size="10">${t}</text>`)
  }
  const xTicks = [...new Set(all.map(([x]) => x))].sort((a, b) => a - b)
  for (const t of xTicks) parts.push(`<text x="${px(t)}" y="${py(y0) + 14}" text-anchor="middle" font-size="10">${t}</text>`)
  parts.push(`<text x="${ox + M.left + (W - M.left - M.right) / 2}" y="${oy + H - 10}" text-anchor="middle" font-size="11">${esc(p.xLabel)}</text>`)
  parts.push(`<text transform="translate(${ox + 14},${oy + (H - M.bottom + M.top) / 2}) rotate(-90)" text-anchor="middle" font-size="11">${esc(p.yLabel)}</text>`)
  for (const s of p.series) {
    const color = COLORS[names.indexOf(s.name) % COLORS.length]
    const pts = [...s.points].sort((a, b) => a[0] - b[0])
    parts.push(`<polyline fill="none" stroke="${color}" stroke-width="2" points="${pts.map(([x, y]) => `${px(x).toFixed(1)},${py(y).toFixed(1)}`).join(' ')}"/>`)
    for (const [x, y] of pts) parts.push(`<circle cx="${px(x).toFixed(1)}" cy="${py(y).toFixed(1)}" r="2.5" fill="${color}"/>`)
  }
  return parts.join('\n')
}

/** Panels laid out `columns` wide, with one legend for every series name. */
export function lineCharts(title: string, panels: Panel[], columns: number): string {
  const names = [...new Set(panels.flatMap((p) => p.series.map((s) => s.name)))]
  const rows = Math.ceil(panels.length / columns)
  const legendH = 24
  const width = columns * W
  const height = rows * H + 40 + legendH
  const body = panels.map((p, i) => panel(p, (i % columns) * W, 40 + legendH + Math.floor(i / columns) * H, names))
  const step = Math.min(190, (width - 20) / Math.max(1, names.length))
  const legend = names.map((name, i) => {
    const x = 20 + i * step
    return `<rect x="${x}" y="38" width="14" height="4" fill="${COLORS[i % COLORS.length]}"/><text x="${x + 20}" y="44" font-size="11">${esc(name)}</text>`
  })
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${width / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">${esc(title)}</text>`,
    ...legend,
    ...body,
    '</svg>',
    '',
  ].join('\n')
}
