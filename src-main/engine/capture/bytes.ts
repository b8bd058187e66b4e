/** Big-endian 16-bit unsigned at `o`. */
export function u16(b: Uint8Array, o: number): number {
  return (b[o] << 8) | b[o + 1]
}

/** Big-endian 32-bit unsigned at `o`. */
export function u32(b: Uint8Array, o: number): number {
  return b[o] * 0x1000000 + ((b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3])
}

/** Little-endian 16-bit unsigned at `o`. */
export function u16le(b: Uint8Array, o: number): number {
  return b[o] | (b[o + 1] << 8)
}

/** Little-endian 32-bit unsigned at `o`. */
export function u32le(b: Uint8Array, o: number): number {
  return b[o + 3] * 0x1000000 + ((b[o + 2] << 16) | (b[o + 1] << 8) | b[o])
}
