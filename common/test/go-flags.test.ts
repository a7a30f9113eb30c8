import { describe, expect, it } from 'vitest'
import {
  boolFlag,
  durationFlag,
  FlagError,
  FlagHelp,
  floatFlag,
  formatGoDuration,
  formatUsage,
  intFlag,
  parseFlags,
  parseGoDuration,
  stringFlag,
} from '../cli/go-flags.js'
import { goQuote } from '../cli/go-quote.js'

const specs = {
  mode: stringFlag('subscribe', 'mode: subscribe | publish'),
  topic: stringFlag('', 'topic name'),
  count: intFlag(1, 'number of messages'),
  sleep: durationFlag(0, 'delay between publishes'),
  'keepalive-interval': durationFlag(120_000, 'gRPC keepalive ping interval'),
  subscribeOnly: boolFlag(false, 'only subscribe'),
  threshold: floatFlag(0.1, 'delivery threshold'),
}

const parse = (...argv: string[]) => parseFlags(specs, argv, 'prog')

describe('parseFlags (Go flag semantics)', () => {
  it('uses the defaults when nothing is given', () => {
    const { values, args, set } = parse()
    expect(values).toEqual({
      mode: 'subscribe',
      topic: '',
      count: 1,
      sleep: 0,
      'keepalive-interval': 120_000,
      subscribeOnly: false,
      threshold: 0.1,
    })
    expect(args).toEqual([])
    expect(set.size).toBe(0)
  })

  it('accepts -x=v, --x=v, -x v and --x v', () => {
    const { values, set } = parse('-mode=publish', '--topic=t', '-count', '5', '--sleep', '100ms')
    expect(values).toMatchObject({ mode: 'publish', topic: 't', count: 5, sleep: 100 })
    expect([...set].sort()).toEqual(['count', 'mode', 'sleep', 'topic'])
  })

  it('takes the next argument as the value even when it starts with a dash', () => {
    expect(parse('-topic', '-weird').values.topic).toBe('-weird')
    expect(parse('-topic=a=b').values.topic).toBe('a=b')
    expect(parse('-topic=').values.topic).toBe('')
  })

  it('treats bool flags like Go: -b is true, -b=false, never -b value', () => {
    expect(parse('-subscribeOnly').values.subscribeOnly).toBe(true)
    expect(parse('--subscribeOnly=false').values.subscribeOnly).toBe(false)
    for (const t of ['1', 't', 'T', 'TRUE', 'true', 'True']) expect(parse(`-subscribeOnly=${t}`).values.subscribeOnly).toBe(true)
    const { values, args } = parse('-subscribeOnly', 'false')
    expect(values.subscribeOnly).toBe(true)
    expect(args).toEqual(['false'])
    expect(() => parse('-subscribeOnly=yes')).toThrow('invalid boolean value "yes" for -subscribeOnly: parse error')
  })

  it('stops at the first non-flag argument, at "-" and after "--"', () => {
    expect(parse('-count=2', 'rest', '-mode=publish').args).toEqual(['rest', '-mode=publish'])
    expect(parse('-count=2', 'rest', '-mode=publish').values.mode).toBe('subscribe')
    expect(parse('-', '-count=2').args).toEqual(['-', '-count=2'])
    expect(parse('--', '-count=2').args).toEqual(['-count=2'])
    expect(parse('--', '-count=2').values.count).toBe(1)
  })

  it('parses ints like strconv.ParseInt(s, 0, 64)', () => {
    expect(parse('-count=42').values.count).toBe(42)
    expect(parse('-count=-3').values.count).toBe(-3)
    expect(parse('-count=0x10').values.count).toBe(16)
    expect(parse('-count=0o17').values.count).toBe(15)
    expect(parse('-count=017').values.count).toBe(15)
    expect(parse('-count=0b101').values.count).toBe(5)
    expect(parse('-count=1_000').values.count).toBe(1000)
    expect(() => parse('-count=abc')).toThrow('invalid value "abc" for flag -count: parse error')
    expect(() => parse('-count=1.5')).toThrow('parse error')
    expect(() => parse('-count=99999999999999999999')).toThrow('invalid value "99999999999999999999" for flag -count: value out of range')
  })

  it('parses floats', () => {
    expect(parse('-threshold=0.7').values.threshold).toBe(0.7)
    expect(parse('-threshold=1').values.threshold).toBe(1)
    expect(parse('-threshold=.5').values.threshold).toBe(0.5)
    expect(parse('-threshold=1e-1').values.threshold).toBe(0.1)
    expect(() => parse('-threshold=high')).toThrow('invalid value "high" for flag -threshold: parse error')
  })

  it('parses Go durations to milliseconds', () => {
    expect(parse('-sleep=100ms').values.sleep).toBe(100)
    expect(parse('-sleep=1m30s').values.sleep).toBe(90_000)
    expect(parse('-keepalive-interval=2m0s').values['keepalive-interval']).toBe(120_000)
    expect(parse('-sleep=1h').values.sleep).toBe(3_600_000)
    expect(() => parse('-sleep=10')).toThrow('invalid value "10" for flag -sleep: parse error')
  })

  it('names an unknown flag, a missing value and bad syntax', () => {
    expect(() => parse('-nope')).toThrow(new FlagError('flag provided but not defined: -nope', formatUsage(specs, 'prog')))
    expect(() => parse('--nope=1')).toThrow('flag provided but not defined: -nope')
    expect(() => parse('-count')).toThrow('flag needs an argument: -count')
    expect(() => parse('---count=1')).toThrow('bad flag syntax: ---count=1')
    expect(() => parse('-=x')).toThrow('bad flag syntax: -=x')
    try {
      parse('-nope')
    } catch (err) {
      expect((err as FlagError).usage).toContain('Usage of prog:')
    }
  })

  it('turns -h, -help, --help into a help request with the usage', () => {
    for (const arg of ['-h', '-help', '--help', '--h']) {
      expect(() => parse(arg)).toThrow(FlagHelp)
    }
    try {
      parse('-help')
    } catch (err) {
      expect((err as FlagHelp).usage).toBe(formatUsage(specs, 'prog'))
    }
    // a program that defines -h gets it as a flag
    expect(parseFlags({ h: boolFlag(false, 'human') }, ['-h'], 'p').values.h).toBe(true)
  })
})

describe('formatUsage', () => {
  it('prints flags sorted, with types and non-zero defaults, like flag.PrintDefaults', () => {
    expect(formatUsage(specs, 'prog')).toBe(
      [
        'Usage of prog:',
        '  -count int',
        '    \tnumber of messages (default 1)',
        '  -keepalive-interval duration',
        '    \tgRPC keepalive ping interval (default 2m0s)',
        '  -mode string',
        '    \tmode: subscribe | publish (default "subscribe")',
        '  -sleep duration',
        '    \tdelay between publishes',
        '  -subscribeOnly',
        '    \tonly subscribe',
        '  -threshold float',
        '    \tdelivery threshold (default 0.1)',
        '  -topic string',
        '    \ttopic name',
        '',
      ].join('\n'),
    )
  })

  it('keeps a one-letter bool flag on one line', () => {
    expect(formatUsage({ v: boolFlag(false, 'verbose') }, 'p')).toBe('Usage of p:\n  -v\tverbose\n')
  })
})

describe('Go durations', () => {
  it('parses what time.ParseDuration parses', () => {
    const cases: [string, number][] = [
      ['0', 0],
      ['0s', 0],
      ['5s', 5000],
      ['1.5s', 1500],
      ['.5s', 500],
      ['1.s', 1000],
      ['300ms', 300],
      ['-1m', -60_000],
      ['+2h', 7_200_000],
      ['1h2m3s', 3_723_000],
      ['1500us', 1.5],
      ['1500µs', 1.5],
      ['2000000ns', 2],
      ['2m0s', 120_000],
    ]
    for (const [text, ms] of cases) expect(parseGoDuration(text), text).toBe(ms)
  })

  it('rejects what time.ParseDuration rejects', () => {
    for (const text of ['', '10', 's', '1x', '1.2.3s', '-', '1 s', 'ms5']) expect(parseGoDuration(text), text).toBeUndefined()
  })

  it('formats like time.Duration.String', () => {
    const cases: [number, string][] = [
      [0, '0s'],
      [100, '100ms'],
      [1.5, '1.5ms'],
      [0.001, '1µs'],
      [1500, '1.5s'],
      [20_000, '20s'],
      [90_000, '1m30s'],
      [120_000, '2m0s'],
      [3_600_000, '1h0m0s'],
      [3_723_500, '1h2m3.5s'],
      [-5000, '-5s'],
    ]
    for (const [ms, text] of cases) expect(formatGoDuration(ms), String(ms)).toBe(text)
  })
})

describe('goQuote (Go %q)', () => {
  it('quotes like strconv.Quote', () => {
    expect(goQuote('random')).toBe('"random"')
    expect(goQuote('say "hi" \\ bye')).toBe('"say \\"hi\\" \\\\ bye"')
    expect(goQuote('a\nb\tc\rd\u0007\u0008\u000b\u000c')).toBe('"a\\nb\\tc\\rd\\a\\b\\v\\f"')
    expect(goQuote('\u0001\u001b\u007f')).toBe('"\\x01\\x1b\\x7f"')
    expect(goQuote('héllo 世界 🎉')).toBe('"héllo 世界 🎉"')
    expect(goQuote('\u00a0\u200b\u2028')).toBe('"\\u00a0\\u200b\\u2028"')
    expect(goQuote('\u{e0001}')).toBe('"\\U000e0001"')
  })

  it('shows bytes that are not UTF-8 as \\x escapes', () => {
    expect(goQuote(Uint8Array.from([0x61, 0xff, 0xfe, 0x62]))).toBe('"a\\xff\\xfeb"')
    expect(goQuote(Uint8Array.from([0xe4, 0xb8]))).toBe('"\\xe4\\xb8"') // truncated sequence
    expect(goQuote(Uint8Array.from([0xc0, 0xaf]))).toBe('"\\xc0\\xaf"') // overlong
    expect(goQuote(Uint8Array.from([0xed, 0xa0, 0x80]))).toBe('"\\xed\\xa0\\x80"') // surrogate
  })
})
