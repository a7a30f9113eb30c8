/**
 * Go's `%q` (strconv.Quote) for CLI output: a double-quoted string that stays
 * on one line. Printable characters (Unicode letters, marks, numbers,
 * punctuation, symbols, and the ASCII space) are kept; `"` and `\` are
 * escaped; \a \b \f \n \r \t \v by name; other control and non-printable
 * characters as \xNN (below U+0080), \uNNNN or \UNNNNNNNN; bytes that are not
 * valid UTF-8 as \xNN.
 */
export function goQuote(input: string | Uint8Array): string {
  const bytes = typeof input === 'string' ? Buffer.from(input, 'utf8') : input
  let out = '"'
  let i = 0
  while (i < bytes.length) {
    const decoded = decodeRune(bytes, i)
    if (decoded === undefined) {
      out += `\\x${hex(bytes[i]!, 2)}`
      i++
      continue
    }
    out += quoteRune(decoded.rune)
    i += decoded.size
  }
  return `${out}"`
}

const NAMED: Record<number, string> = { 7: '\\a', 8: '\\b', 12: '\\f', 10: '\\n', 13: '\\r', 9: '\\t', 11: '\\v' }
const PRINTABLE = /^[\p{L}\p{M}\p{N}\p{P}\p{S} ]$/u

function quoteRune(rune: number): string {
  if (rune === 0x22) return '\\"'
  if (rune === 0x5c) return '\\\\'
  const ch = String.fromCodePoint(rune)
  if (rune >= 0x20 && rune < 0x7f) return ch
  if (PRINTABLE.test(ch)) return ch
  const named = NAMED[rune]
  if (named) return named
  if (rune < 0x80) return `\\x${hex(rune, 2)}`
  if (rune < 0x10000) return `\\u${hex(rune, 4)}`
  return `\\U${hex(rune, 8)}`
}

function hex(n: number, width: number): string {
  return n.toString(16).padStart(width, '0')
}

/** One UTF-8 sequence at `i`, or undefined when the bytes there are not valid UTF-8 (overlongs and surrogates included). */
function decodeRune(b: Uint8Array, i: number): { rune: number; size: number } | undefined {
  const b0 = b[i]!
  if (b0 < 0x80) return { rune: b0, size: 1 }
  let size: number
  let rune: number
  let min: number
  if (b0 >= 0xc2 && b0 <= 0xdf) {
    size = 2
    rune = b0 & 0x1f
    min = 0x80
  } else if (b0 >= 0xe0 && b0 <= 0xef) {
    size = 3
    rune = b0 & 0x0f
    min = 0x800
  } else if (b0 >= 0xf0 && b0 <= 0xf4) {
    size = 4
    rune = b0 & 0x07
    min = 0x10000
  } else {
    return undefined
  }
  if (i + size > b.length) return undefined
  for (let k = 1; k < size; k++) {
    const c = b[i + k]!
    if ((c & 0xc0) !== 0x80) return undefined
    rune = (rune << 6) | (c & 0x3f)
  }
  if (rune < min || rune > 0x10ffff || (rune >= 0xd800 && rune <= 0xdfff)) return undefined
  return { rune, size }
}
