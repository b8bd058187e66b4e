import { writeFileSync } from 'node:fs'

/**
 * Writes a pcap of `count` TCP SYNs over Ethernet, each to a new source port (so each is
 * its own conversation): large enough that reading it shows progress and can be cancelled.
 */
export function writeSynFlood(path: string, count: number): void {
  const frameLen = 14 + 20 + 20
  const buf = Buffer.alloc(24 + count * (16 + frameLen))
  // pcap global header: magic, version 2.4, zone 0, sigfigs 0, snaplen 65535, LINKTYPE_ETHERNET.
  buf.writeUInt32LE(0xa1b2c3d4, 0)
  buf.writeUInt16LE(2, 4)
  buf.writeUInt16LE(4, 6)
  buf.writeUInt32LE(65535, 16)
  buf.writeUInt32LE(1, 20)
  let off = 24
  for (let i = 0; i < count; i++) {
    buf.writeUInt32LE(1_700_000_000 + Math.floor(i / 1000), off)
    buf.writeUInt32LE((i % 1000) * 1000, off + 4)
    buf.writeUInt32LE(frameLen, off + 8)
    buf.writeUInt32LE(frameLen, off + 12)
    const f = off + 16
    buf.writeUInt16BE(0x0800, f + 12)
    const ip = f + 14
    buf[ip] = 0x45
    buf.writeUInt16BE(40, ip + 2)
    buf.writeUInt16BE(i & 0xffff, ip + 4)
    buf[ip + 8] = 64
    buf[ip + 9] = 6
    buf.writeUInt32BE(0x0a000000 + ((i >> 16) & 0xff) + 1, ip + 12)
    buf.writeUInt32BE(0x0a010005, ip + 16)
    const tcp = ip + 20
    buf.writeUInt16BE(1024 + (i % 60000), tcp)
    buf.writeUInt16BE(8080, tcp + 2)
    buf.writeUInt32BE(i, tcp + 4)
    buf[tcp + 12] = 0x50
    buf[tcp + 13] = 0x02
    buf.writeUInt16BE(64240, tcp + 14)
    off += 16 + frameLen
  }
  writeFileSync(path, buf)
}
