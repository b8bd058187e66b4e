/** Returns the dotted-quad text of the IPv4 address at `off`. */
export function formatIpv4(b: Uint8Array, off: number): string {
  return b[off] + '.' + b[off + 1] + '.' + b[off + 2] + '.' + b[off + 3]
}

/** Returns the RFC 5952 text of the IPv6 address at `off` (lowercase, longest zero run compressed). */
export function formatIpv6(b: Uint8Array, off: number): string {
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
    return '::ffff:' + formatIpv4(b, off + 12)
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
