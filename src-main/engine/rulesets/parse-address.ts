import { memoByText } from '../../shared/memo'
import type { Cidr } from './model'

/**
 * Returns the prefix written as `addr[/bits]` or `addr/dotted-mask`, or undefined when it is not
 * one. Remembered by text (correlation asks for the same addresses flow after flow); the result
 * is shared and must not be changed.
 */
export const parseCidr = memoByText(readCidr)

function readCidr(text: string): Cidr | undefined {
  const [addr, mask] = text.split('/')
  if (addr.includes(':')) {
    const words = parseIpv6(addr)
    if (!words) return undefined
    const bits = mask === undefined ? 128 : Number(mask)
    if (!Number.isInteger(bits) || bits < 0 || bits > 128) return undefined
    return { version: 6, words, bits }
  }
  const word = parseIpv4(addr)
  if (word === undefined) return undefined
  let bits = 32
  if (mask !== undefined) {
    if (mask.includes('.')) {
      const m = parseIpv4(mask)
      if (m === undefined) return undefined
      bits = 32 - Math.log2((~m >>> 0) + 1)
      if (!Number.isInteger(bits)) return undefined
    } else {
      bits = Number(mask)
      if (!Number.isInteger(bits) || bits < 0 || bits > 32) return undefined
    }
  }
  return { version: 4, words: [word], bits }
}

/** Returns the IPv4 address as an unsigned 32-bit number. */
export function parseIpv4(text: string): number | undefined {
  // Four parts of one to three digits, each at most 255, joined by dots: read in one pass (an
  // address is parsed for every logged packet and every flow end).
  let v = 0
  let part = 0
  let digits = 0
  let parts = 0
  for (let i = 0; i <= text.length; i++) {
    const c = i < text.length ? text.charCodeAt(i) : 46
    if (c >= 48 && c <= 57) {
      if (++digits > 3) return undefined
      part = part * 10 + (c - 48)
    } else if (c === 46) {
      if (digits === 0 || part > 255 || ++parts > 4) return undefined
      v = v * 256 + part
      part = 0
      digits = 0
    } else return undefined
  }
  return parts === 4 ? v : undefined
}

/** Returns the IPv6 address as four unsigned 32-bit words. */
export function parseIpv6(text: string): number[] | undefined {
  let head = text
  let v4tail: number | undefined
  const lastColon = text.lastIndexOf(':')
  if (text.slice(lastColon + 1).includes('.')) {
    v4tail = parseIpv4(text.slice(lastColon + 1))
    if (v4tail === undefined) return undefined
    head = text.slice(0, lastColon + 1) + '0:0'
  }
  const halves = head.split('::')
  if (halves.length > 2) return undefined
  const parse = (s: string) =>
    s === '' ? [] : s.split(':').map((h) => (/^[0-9a-fA-F]{1,4}$/.test(h) ? parseInt(h, 16) : NaN))
  const left = parse(halves[0])
  const right = halves.length === 2 ? parse(halves[1]) : []
  const fill = halves.length === 2 ? 8 - left.length - right.length : 0
  const groups = [...left, ...new Array(Math.max(0, fill)).fill(0), ...right]
  if (groups.length !== 8 || groups.some((g) => Number.isNaN(g))) return undefined
  const words = [0, 1, 2, 3].map((i) => (groups[2 * i] * 65536 + groups[2 * i + 1]) >>> 0)
  if (v4tail !== undefined) words[3] = v4tail
  return words
}

/** Returns whether the address (as parsed) lies inside the prefix. */
export function inCidr(addr: Cidr, prefix: Cidr): boolean {
  if (addr.version !== prefix.version) return false
  let bits = prefix.bits
  for (let i = 0; i < prefix.words.length && bits > 0; i++) {
    const take = Math.min(32, bits)
    const mask = take === 32 ? 0xffffffff : (0xffffffff << (32 - take)) >>> 0
    if ((addr.words[i] & mask) >>> 0 !== (prefix.words[i] & mask) >>> 0) return false
    bits -= take
  }
  return true
}

/** Returns -1, 0 or 1 comparing two addresses of one family. */
export function compareAddress(x: Cidr, y: Cidr): number {
  for (let i = 0; i < x.words.length; i++)
    if (x.words[i] !== y.words[i]) return x.words[i] < y.words[i] ? -1 : 1
  return 0
}

/** Returns an Ethernet address (`02:00:00:00:00:01`, `2:0:0:0:0:1`) in lower case, or undefined. */
export function parseMac(text: string): string | undefined {
  const parts = text.split(':')
  if (parts.length !== 6 || parts.some((x) => !/^[0-9a-f]{1,2}$/i.test(x))) return undefined
  return parts.map((x) => x.toLowerCase().padStart(2, '0')).join(':')
}
