import { existsSync, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import puppeteer, { type Browser, type Page } from 'puppeteer-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { RunningNode } from '../../node/node.js'
import { startNetwork, stopAll, waitFor } from '../../node/test/support/network.js'
import type { RunningProxy } from '../proxy.js'
import { LOCAL_REDIS, proxyConfig, startTestProxy, testPrefix, topicMeshReady } from './support/cluster.js'
import { removePrefix } from './support/store.js'

const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((path) => existsSync(path))
if (CHROMIUM === undefined) console.log('live-view browser test skipped: no Chromium (run infra/ci/install-test-tools.sh)')

const MiB = 1024 * 1024

describe.skipIf(CHROMIUM === undefined)('the live view in headless Chromium, 4 optimum nodes and a proxy', () => {
  let nodes: RunningNode[]
  let proxy: RunningProxy
  let browser: Browser
  let page: Page
  const prefix = testPrefix('live-view')
  const shots = mkdtempSync(join(tmpdir(), 'live-view-'))

  beforeAll(async () => {
    nodes = await startNetwork(4, 'optimum')
    await waitFor('4 connected nodes', () => nodes.every((node) => node.view.peers().length >= 3), 20_000)
    proxy = await startTestProxy(proxyConfig(nodes.map((node) => `127.0.0.1:${node.ports.sidecar}`).join(','), prefix, { PROXY_TRACES: 'true' }))
    browser = await puppeteer.launch({ executablePath: CHROMIUM!, args: ['--no-sandbox', '--disable-gpu'], headless: true })
    page = await browser.newPage()
    await page.setViewport({ width: 1400, height: 1000 })
  }, 60_000)
  afterAll(async () => {
    await browser?.close()
    await proxy?.stop()
    await stopAll(nodes ?? [])
    await removePrefix(LOCAL_REDIS, prefix)
  })

  it('shows the nodes, the mesh and a 1 MiB message reaching every node, published from its own form', async () => {
    const base = `http://127.0.0.1:${proxy.ports.http}`
    await page.goto(`${base}/`, { waitUntil: 'load' })
    await page.waitForFunction(() => document.querySelectorAll('#nodes tr.up').length === 4, { timeout: 15_000 })

    // The page's own form: subscribe (threshold 1.0), then publish 1 MiB of random bytes.
    await page.$eval('#subscribe input[name=threshold]', (input) => { (input as HTMLInputElement).value = '1' })
    await page.click('#subscribe button')
    await page.waitForFunction(() => document.querySelector('#form-result')?.textContent?.includes('subscribed'), { timeout: 10_000 })
    await topicMeshReady(nodes, 'demo')
    await page.waitForFunction(() => Number(document.querySelector<HTMLElement>('#mesh-edges')?.dataset.edges ?? 0) >= 3, { timeout: 15_000 })
    await page.type('#publish input[name=size]', String(MiB))
    await page.click('#publish button')
    await page.waitForFunction(() => document.querySelector('#form-result')?.textContent?.includes('published'), { timeout: 15_000 })

    await page.waitForFunction(() => {
      const reached = document.querySelector<HTMLElement>('#reached')
      return reached !== null && reached.dataset.reached === '4' && reached.dataset.total === '4'
    }, { timeout: 20_000 })
    await page.waitForFunction(() => document.querySelector('#timeline')?.textContent?.includes('met') &&
      !document.querySelector('#timeline')?.textContent?.includes('not yet'), { timeout: 10_000 })

    const shown = await page.evaluate(() => ({
      nodes: document.querySelectorAll('#nodes tbody tr').length,
      graphNodes: (window as unknown as { liveView: { cy: { nodes(): { length: number }; edges(): { length: number } } } }).liveView.cy.nodes().length,
      graphEdges: (window as unknown as { liveView: { cy: { edges(): { length: number } } } }).liveView.cy.edges().length,
      roles: [...document.querySelectorAll<HTMLElement>('#timeline tr[data-role]')].map((row) => row.dataset.role),
      message: document.querySelector('#messages li')?.textContent ?? '',
      timeline: document.querySelector('#timeline')?.textContent ?? '',
    }))
    expect(shown.nodes).toBe(4)
    expect(shown.graphNodes).toBe(4)
    expect(shown.graphEdges).toBeGreaterThanOrEqual(3)
    expect(shown.roles.sort()).toEqual(['decoded', 'decoded', 'decoded', 'published'])
    expect(shown.message).toContain('1,048,576 B')
    // The charts plot the cluster's tracer figures: the three deliveries and the amplification show up within a sample or two.
    await page.waitForFunction(() => {
      const { series } = (window as unknown as { liveView: { series: { delivered: number[]; bloat: number[] } } }).liveView
      return series.delivered.at(-1) === 3 && (series.bloat.at(-1) ?? 0) > 0
    }, { timeout: 15_000 })
    expect(await page.$eval('#algorithm', (el) => el.textContent)).toBe('optimum')
    const path = join(shots, 'live-view.png')
    await page.screenshot({ path, fullPage: true })
    console.log(`live-view screenshot: ${path}\n${shown.timeline}`)
  })
})
