/**
 * Address text, cached: a capture repeats the same few thousand addresses
 * millions of times, and building their text every time is the decoder's
 * largest cost.
 */

const CACHE_LIMIT = 1 << 16
/** Direct-mapped: slot = hash of the address; int32 keys stay unboxed. */
const V4_SLOTS = 1 << 14
const v4Keys = new Int32Array(V4_SLOTS)
const v4Text: (string | undefined)[] = new Array(V4_SLOTS).fill(undefined)
const v6Cache = new Map<number, { w: Uint32Array; text: string }>()

/** Returns the dotted-quad text of the IPv4 address at `off`. */
export function formatIpv4(b: Uint8Array, off: number): string {
  const key = (b[off] << 24) | (b[off + 1] << 16) | (b[off + 2] << 8) | b[off + 3]
  const slot = (Math.imul(key, 0x9e3779b1) >>> 18) & (V4_SLOTS - 1)
  const text = v4Text[slot]
  if (text !== undefined && v4Keys[slot] === key) return text
  const built = b[off] + '.' + b[off + 1] + '.' + b[off + 2] + '.' + b[off + 3]
  v4Keys[slot] = key
  v4Text[slot] = built
  return built
}

/** Returns the RFC 5952 text of the IPv6 address at `off` (lowercase, longest zero run compressed). */
export function formatIpv6(b: Uint8Array, off: number): string {
  const w0 = word32(b, off)
  const w1 = word32(b, off + 4)
  const w2 = word32(b, off + 8)
  const w3 = word32(b, off + 12)
  const key =
    (Math.imul(w0 ^ Math.imul(w1, 0x9e3779b1), 0x85ebca6b) ^
      Math.imul(w2 ^ (w3 >>> 7), 0xc2b2ae35) ^
      w3) >>>
    0
  const hit = v6Cache.get(key)
  if (hit && hit.w[0] === w0 && hit.w[1] === w1 && hit.w[2] === w2 && hit.w[3] === w3)
    return hit.text
  const text = buildIpv6(b, off)
  if (v6Cache.size >= CACHE_LIMIT) v6Cache.clear()
  v6Cache.set(key, { w: Uint32Array.of(w0, w1, w2, w3), text })
  return text
}

function word32(b: Uint8Array, o: number): number {
  return (b[o] * 0x1000000 + ((b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3])) >>> 0
}

function buildIpv6(b: Uint8Array, off: number): string {
  const words: number[] = new Array(8)
  for (let i = 0; i < 8; i++) words[i] = (b[off + 2 * i] << 8) | b[off + 2 * i + 1]
  // RFC 5952 §4.2.3: compress the longest run of two or more zero words, the first if tied.
  let bestStart = -1
  let bestLen = 1
  for (let i = 0; i < 8;) {
    if (words[i] !== 0) {
      i++
      continue
    }
    let j = i
    while (j < 8 && words[j] === 0) j++
    if (j - i > bestLen) {
      bestStart = i
      bestLen = j - i
    }
    i = j
  }
  // RFC 5952 §5: an IPv4-mapped address keeps its dotted quad.
  if (bestStart === 0 && bestLen === 5 && words[5] === 0xffff) {
    return '::ffff:' + b[off + 12] + '.' + b[off + 13] + '.' + b[off + 14] + '.' + b[off + 15]
  }
  if (bestStart < 0) return words.map(hex).join(':')
  const head = words.slice(0, bestStart).map(hex).join(':')
  const tail = words
    .slice(bestStart + bestLen)
    .map(hex)
    .join(':')
  return head + '::' + tail
}

function hex(w: number): string {
  return w.toString(16)
}
