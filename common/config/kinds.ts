/**
 * One small parser per kind of value. A kind knows the sentence that says what
 * it accepts and turns trimmed, non-default text into a typed value, or throws
 * `Invalid` (optionally with a reason naming the bad part). Kinds never see
 * variable names; `read.ts` adds those.
 */
import { isIP } from 'node:net'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { quote } from './error.js'

export class Invalid extends Error {
  constructor(readonly reason?: string) {
    super(reason ?? 'invalid')
  }
}

export interface Kind<T> {
  /** What is accepted, to follow "expected ": `an integer from 1 to 1000`. */
  readonly accepted: string
  parse(text: string): T
  /** How a bad value is quoted back (e.g. with a password masked); default: as is. */
  show?(text: string): string
}

const DIGITS = /^\d+$/
const DECIMAL = /^(\d+(\.\d*)?|\.\d+)$/

function inRange(n: number, min: number, max: number): boolean {
  return Number.isFinite(n) && n >= min && n <= max
}

export function int(min: number, max: number, unit = ''): Kind<number> {
  return {
    accepted: `an integer from ${min} to ${max}${unit ? ` (${unit})` : ''}`,
    parse(text) {
      const n = DIGITS.test(text) ? Number(text) : NaN
      if (!inRange(n, min, max)) throw new Invalid()
      return n
    },
  }
}

export function decimal(min: number, max: number): Kind<number> {
  return {
    accepted: `a number from ${min} to ${max}`,
    parse(text) {
      const n = DECIMAL.test(text) ? Number(text) : NaN
      if (!inRange(n, min, max)) throw new Invalid()
      return n
    },
  }
}

/** 0..65535, also written `:8080` as the published compose file does; 0 = any free port. */
export function port(): Kind<number> {
  const digits = int(0, 65535)
  return {
    accepted: 'a port from 0 to 65535, written 8080 or :8080 (0 = any free port)',
    parse: (text) => digits.parse(text.startsWith(':') ? text.slice(1) : text),
  }
}

const TRUE = ['true', '1', 'yes']
const FALSE = ['false', '0', 'no']

export function bool(): Kind<boolean> {
  return {
    accepted: 'true, false, 1, 0, yes or no',
    parse(text) {
      const t = text.toLowerCase()
      if (TRUE.includes(t)) return true
      if (FALSE.includes(t)) return false
      throw new Invalid()
    },
  }
}

export function oneOf<T extends string>(values: readonly T[]): Kind<T> {
  return {
    accepted: `one of ${values.join(', ')}`,
    parse(text) {
      const found = values.find((v) => v === text.toLowerCase())
      if (found === undefined) throw new Invalid()
      return found
    },
  }
}

/** Free text that passes `test` (e.g. a length limit). */
export function text(accepted: string, test: (s: string) => boolean): Kind<string> {
  return {
    accepted,
    parse(s) {
      if (!test(s)) throw new Invalid()
      return s
    },
  }
}

/** Empty text (unset, or set to blanks) reads as `undefined`. */
export function optional<T>(kind: Kind<T>): Kind<T | undefined> {
  return { ...kind, parse: (s) => (s === '' ? undefined : kind.parse(s)) }
}

const LABEL = /^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?$/i

/** RFC 1123 names (underscores allowed: docker service names use them); an all-digit last label is a bad IPv4 address, not a name. */
export function isHostname(s: string): boolean {
  const name = s.endsWith('.') ? s.slice(0, -1) : s
  if (name.length === 0 || name.length > 253) return false
  const labels = name.split('.')
  return labels.every((l) => LABEL.test(l)) && !DIGITS.test(labels[labels.length - 1]!)
}

/** An IP literal (IPv6 with or without brackets) or a hostname; returned without brackets. */
export function host(): Kind<string> {
  return {
    accepted: 'an IPv4 or IPv6 address or a hostname',
    parse(s) {
      const bare = s.startsWith('[') && s.endsWith(']') ? s.slice(1, -1) : s
      if (isIP(bare) === 6 || (bare === s && (isIP(s) === 4 || isHostname(s)))) return bare
      throw new Invalid()
    },
  }
}

export interface HostPort {
  host: string
  port: number
}

/** `host:port` with port 1..65535; IPv6 hosts in brackets: `[::1]:33212`. Host returned bare. */
export function hostPort(): Kind<HostPort> {
  const hostKind = host()
  const portKind = int(1, 65535)
  return {
    accepted: 'host:port addresses (port 1 to 65535, IPv6 written [::1]:33212)',
    parse(s) {
      const bracketed = /^\[([^\]]*)\]:(.*)$/.exec(s)
      const colon = s.lastIndexOf(':')
      if (!bracketed && colon < 0) throw new Invalid('has no :port')
      if (!bracketed && s.indexOf(':') !== colon) throw new Invalid('is an IPv6 address without [brackets]')
      const [h, p] = bracketed ? [`[${bracketed[1]}]`, bracketed[2]!] : [s.slice(0, colon), s.slice(colon + 1)]
      let hostName: string
      try {
        hostName = hostKind.parse(h)
      } catch {
        throw new Invalid(`has an invalid host ${quote(h)}`)
      }
      try {
        return { host: hostName, port: portKind.parse(p) }
      } catch {
        throw new Invalid(`has an invalid port ${quote(p)}`)
      }
    },
  }
}

/** A dialable multiaddr ending in /p2p/<peer id>; returned in canonical form. */
export function peerAddress(): Kind<string> {
  return {
    accepted: 'multiaddrs that end in /p2p/<peer id>, e.g. /ip4/10.0.0.1/tcp/7070/p2p/12D3KooW…',
    parse(s) {
      if (/\/p2p\/?$/.test(s)) throw new Invalid('has an empty peer id after /p2p/ (docker compose: is BOOTSTRAP_PEER_ID set?)')
      let components
      let canonical: string
      try {
        const ma = multiaddr(s)
        components = ma.getComponents()
        canonical = ma.toString()
      } catch (err) {
        throw new Invalid(`is not a multiaddr (${(err as Error).message})`)
      }
      const last = components[components.length - 1]
      if (last?.name !== 'p2p' || last.value === undefined) throw new Invalid('does not end in /p2p/<peer id>')
      if (components.length < 2) throw new Invalid('has no address before /p2p/<peer id>')
      try {
        peerIdFromString(last.value)
      } catch (err) {
        throw new Invalid(`has an invalid peer id ${quote(last.value)} (${(err as Error).message})`)
      }
      return canonical
    },
  }
}

/**
 * Comma-separated items; blank entries (a trailing comma) are skipped and
 * duplicates (same `key`) removed. A bad entry is named in the reason.
 */
export function list<T>(item: Kind<T>, options: { min: number; key: (value: T) => string }): Kind<T[]> {
  return {
    accepted: `${options.min > 0 ? 'one or more' : 'zero or more'} comma-separated ${item.accepted}`,
    parse(s) {
      const seen = new Map<string, T>()
      for (const entry of s.split(',').map((e) => e.trim())) {
        if (entry === '') continue
        let value: T
        try {
          value = item.parse(entry)
        } catch (err) {
          if (!(err instanceof Invalid)) throw err
          throw new Invalid(`entry ${quote(entry)} ${err.reason ?? 'is not accepted'}`)
        }
        const key = options.key(value)
        if (!seen.has(key)) seen.set(key, value)
      }
      if (seen.size < options.min) throw new Invalid(seen.size === 0 ? 'the list is empty' : `it has fewer than ${options.min} entries`)
      return [...seen.values()]
    },
  }
}

/** A URL of one of `protocols` (e.g. 'redis:') that names a host. */
function urlKind(protocols: readonly string[], accepted: string): Kind<string> {
  return {
    accepted,
    parse(s) {
      let url: URL
      try {
        url = new URL(s)
      } catch {
        throw new Invalid('it is not a URL')
      }
      if (!protocols.includes(url.protocol)) throw new Invalid(`its scheme is ${quote(url.protocol)}`)
      if (url.hostname === '') throw new Invalid('it has no host')
      return s
    },
  }
}

/** A redis:// or rediss:// URL with a host; a password is masked in messages. */
export function redisUrl(): Kind<string> {
  return {
    ...urlKind(['redis:', 'rediss:'], 'a redis:// or rediss:// URL such as redis://127.0.0.1:6379'),
    show: (s) => s.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@]*):[^@/]*@/i, '$1:***@'),
  }
}

/** An http:// or https:// URL with a host (http for a provider on a private network, and for tests). */
export function httpUrl(): Kind<string> {
  return urlKind(['http:', 'https:'], 'an http:// or https:// URL such as https://tenant.auth0.com/.well-known/jwks.json')
}
