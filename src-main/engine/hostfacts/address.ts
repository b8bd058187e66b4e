import { memoByText } from '../../shared/memo'
import { parseIpv4, parseIpv6 } from '../rulesets/parse-address'

/**
 * Returns the address in its usual short form (IPv6 compressed, lower case); unchanged if not an
 * address. Remembered by text: correlation asks for the same addresses flow after flow.
 */
export const normalizeAddress = memoByText(shortForm)

function shortForm(text: string): string {
  if (parseIpv4(text) !== undefined) return text
  const words = parseIpv6(text)
  if (words === undefined) return text
  const groups: number[] = []
  for (const w of words) groups.push(w >>> 16, w & 0xffff)
  if (groups.slice(0, 6).join(',') === '0,0,0,0,0,65535') {
    return `::ffff:${groups[6] >> 8}.${groups[6] & 255}.${groups[7] >> 8}.${groups[7] & 255}`
  }
  let bestAt = -1
  let bestLen = 0
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++
      continue
    }
    let j = i
    while (j < 8 && groups[j] === 0) j++
    if (j - i > bestLen && j - i > 1) {
      bestAt = i
      bestLen = j - i
    }
    i = j
  }
  const hex = groups.map((g) => g.toString(16))
  if (bestAt < 0) return hex.join(':')
  return `${hex.slice(0, bestAt).join(':')}::${hex.slice(bestAt + bestLen).join(':')}`
}

/** Returns 4 or 6 for an address, undefined if it is neither. */
export function addressFamily(text: string): 4 | 6 | undefined {
  if (parseIpv4(text) !== undefined) return 4
  if (parseIpv6(text) !== undefined) return 6
  return undefined
}

/** Splits text into lines, numbered from 1. */
export function numberedLines(text: string): { lineNo: number; raw: string }[] {
  return text.split(/\r?\n/).map((raw, i) => ({ lineNo: i + 1, raw }))
}

/** Returns the 1-based line of a character offset. */
export function lineOfOffset(text: string, offset: number): number {
  let line = 1
  for (let i = 0; i < offset && i < text.length; i++) if (text.charCodeAt(i) === 10) line++
  return line
}

/** Reads a JSON document, or returns the line where it broke. */
export function parseJson(text: string): { value: unknown } | { error: string; line: number } {
  try {
    return { value: JSON.parse(text) as unknown }
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e)
    const m = /position (\d+)/.exec(message)
    return { error: message, line: m ? lineOfOffset(text, Number(m[1])) : 1 }
  }
}

/** A JSON object's fields, or undefined when the value is not an object. */
export function asRecord(v: unknown): Record<string, unknown> | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
    ? (v as Record<string, unknown>)
    : undefined
}

export function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined
}

export function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined
}
