import { lookup as dnsLookup, type LookupAddress } from 'node:dns'
import { BlockList, isIP, type LookupFunction } from 'node:net'
import { networkInterfaces } from 'node:os'
import { OptimumError } from '../../common/errors.js'

export interface UrlGuardOptions {
  /** WEBHOOK_ALLOW_PRIVATE: loopback, private, link-local and metadata targets allowed. */
  allowPrivate: boolean
  /** The proxy's own listening ports (HTTP, gRPC): never a webhook target on this host. */
  ownPorts(): readonly number[]
}

const MAX_URL_LENGTH = 2048

/** Where a webhook must not point from a server: this host, private networks, link-local and cloud metadata endpoints. */
const PRIVATE = new BlockList()
for (const [net, bits] of [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12],
  ['192.0.0.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15], ['224.0.0.0', 4], ['240.0.0.0', 4],
] as const) PRIVATE.addSubnet(net, bits, 'ipv4')
for (const [net, bits] of [['::', 128], ['::1', 128], ['fc00::', 7], ['fe80::', 10], ['ff00::', 8]] as const) PRIVATE.addSubnet(net, bits, 'ipv6')

const LOCAL = new BlockList()
LOCAL.addSubnet('127.0.0.0', 8, 'ipv4')
LOCAL.addAddress('0.0.0.0', 'ipv4')
LOCAL.addAddress('::1', 'ipv6')
LOCAL.addAddress('::', 'ipv6')

/** IPv4-mapped IPv6 (`::ffff:10.0.0.1`) is checked as the IPv4 address it is. */
function normalize(address: string): { address: string; family: 'ipv4' | 'ipv6' } {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)
  if (mapped) return { address: mapped[1]!, family: 'ipv4' }
  return { address, family: isIP(address) === 6 ? 'ipv6' : 'ipv4' }
}

function isThisHost(address: string, family: 'ipv4' | 'ipv6'): boolean {
  if (LOCAL.check(address, family)) return true
  return Object.values(networkInterfaces()).some((list) => list?.some((i) => i.address === address))
}

/**
 * Refuses webhook targets that would let a client reach what only the proxy
 * can: its own ports, and (unless WEBHOOK_ALLOW_PRIVATE) loopback, private,
 * link-local and metadata addresses (169.254.169.254, fd00:ec2::254, …). The
 * check runs on the resolved addresses at connect time (`lookup`), so a name
 * that resolves elsewhere later (DNS rebinding) is caught too.
 */
export class WebhookUrlGuard {
  constructor(private readonly options: UrlGuardOptions) {}

  /** A webhook URL as a client gives it: http(s), a host, no credentials; its literal address checked. */
  parse(text: string): URL {
    if (text.length > MAX_URL_LENGTH) throw new OptimumError('invalid_argument', `webhook URL is longer than ${MAX_URL_LENGTH} characters`)
    let url: URL
    try {
      url = new URL(text)
    } catch {
      throw new OptimumError('invalid_argument', 'webhook is not a URL')
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new OptimumError('invalid_argument', 'webhook URL must be http:// or https://')
    if (url.username || url.password) throw new OptimumError('invalid_argument', 'webhook URL must not carry credentials')
    const host = url.hostname.replace(/^\[|\]$/g, '')
    if (isIP(host)) this.assertAddress(host, port(url))
    return url
  }

  /** Resolve the URL's host now and check every address (at subscribe time, to refuse early). */
  async check(url: URL): Promise<void> {
    const host = url.hostname.replace(/^\[|\]$/g, '')
    if (isIP(host)) return this.assertAddress(host, port(url))
    const addresses = await new Promise<LookupAddress[]>((resolve, reject) =>
      dnsLookup(host, { all: true }, (err, list) => (err ? reject(new OptimumError('invalid_argument', `webhook host ${host} does not resolve`)) : resolve(list))))
    for (const { address } of addresses) this.assertAddress(address, port(url))
  }

  /** A `lookup` for http.request that refuses forbidden addresses of `targetPort`. */
  lookupFor(targetPort: number): LookupFunction {
    return (hostname, options, callback) => {
      dnsLookup(hostname, { ...options, all: true }, (err, list) => {
        if (err) return callback(err, '', 0)
        try {
          for (const { address } of list) this.assertAddress(address, targetPort)
        } catch (refused) {
          return callback(refused as Error, '', 0)
        }
        if (options.all) return (callback as unknown as (e: null, l: LookupAddress[]) => void)(null, list)
        const first = list[0]!
        callback(null, first.address, first.family)
      })
    }
  }

  assertAddress(raw: string, targetPort: number): void {
    const { address, family } = normalize(raw)
    if (this.options.ownPorts().includes(targetPort) && isThisHost(address, family)) {
      throw new OptimumError('permission_denied', `webhook refused: ${raw}:${targetPort} is this proxy`)
    }
    if (!this.options.allowPrivate && PRIVATE.check(address, family)) {
      throw new OptimumError('permission_denied', `webhook refused: ${raw} is a private, loopback, link-local or metadata address (WEBHOOK_ALLOW_PRIVATE=false)`)
    }
  }
}

export function port(url: URL): number {
  return url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80
}
