/**
 * Writes a classic pcap (little-endian, microseconds, Ethernet, IPv4) of `flows` long TCP
 * conversations carried side by side: each a handshake, `segments` data segments from the
 * client (the server acknowledging every second one) and a FIN close. The same conversations
 * with more segments make a capture with more packets and no more conversations: what
 * `npm run bench` uses to show that analysis memory follows conversations, not packets.
 *
 *   node bench/bulk-capture.mjs FILE [--flows N] [--segments N]
 */
import { closeSync, openSync, writeSync } from 'node:fs'
import { pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'

const PAYLOAD = 100
const FIN = 0x01
const SYN = 0x02
const PSH = 0x08
const ACK = 0x10
/** Records gathered before each write. */
const BATCH_BYTES = 1 << 20

/** Writes the capture; returns its packet count. */
export function writeBulkCapture(file, { flows = 200, segments = 1000 } = {}) {
  const fd = openSync(file, 'w')
  const header = Buffer.alloc(24)
  header.writeUInt32LE(0xa1b2c3d4, 0)
  header.writeUInt16LE(2, 4)
  header.writeUInt16LE(4, 6)
  header.writeUInt32LE(65535, 16)
  header.writeUInt32LE(1, 20)
  writeSync(fd, header)
  const out = Buffer.alloc(BATCH_BYTES + 4096)
  let used = 0
  let packets = 0
  let timeUs = 1_717_200_000_000_000
  const conv = Array.from({ length: flows }, (_, i) => ({
    client: 0x0a010000 + i + 2,
    server: 0x0a020002,
    sport: 30000 + i,
    dport: 443,
    seq: (i * 2654435761) >>> 0,
    ack: (i * 40503 + 7) >>> 0
  }))
  const emit = (c, fromClient, flags, payload) => {
    if (used > BATCH_BYTES) {
      writeSync(fd, out, 0, used)
      used = 0
    }
    const len = 14 + 20 + 20 + payload
    timeUs += 10
    out.writeUInt32LE(Math.floor(timeUs / 1e6), used)
    out.writeUInt32LE(timeUs % 1e6, used + 4)
    out.writeUInt32LE(len, used + 8)
    out.writeUInt32LE(len, used + 12)
    const f = used + 16
    out.fill(0, f, f + len)
    out.writeUInt16BE(0x0800, f + 12)
    const ip = f + 14
    out[ip] = 0x45
    out.writeUInt16BE(20 + 20 + payload, ip + 2)
    out.writeUInt16BE(packets & 0xffff, ip + 4)
    out[ip + 6] = 0x40
    out[ip + 8] = 64
    out[ip + 9] = 6
    out.writeUInt32BE(fromClient ? c.client : c.server, ip + 12)
    out.writeUInt32BE(fromClient ? c.server : c.client, ip + 16)
    const tcp = ip + 20
    out.writeUInt16BE(fromClient ? c.sport : c.dport, tcp)
    out.writeUInt16BE(fromClient ? c.dport : c.sport, tcp + 2)
    out.writeUInt32BE(fromClient ? c.seq : c.ack, tcp + 4)
    out.writeUInt32BE(flags & ACK ? (fromClient ? c.ack : c.seq) : 0, tcp + 8)
    out[tcp + 12] = 0x50
    out[tcp + 13] = flags
    out.writeUInt16BE(65535, tcp + 14)
    used += 16 + len
    packets++
  }
  for (const c of conv) {
    emit(c, true, SYN, 0)
    c.seq = (c.seq + 1) >>> 0
    emit(c, false, SYN | ACK, 0)
    c.ack = (c.ack + 1) >>> 0
    emit(c, true, ACK, 0)
  }
  for (let s = 0; s < segments; s++)
    for (const c of conv) {
      emit(c, true, PSH | ACK, PAYLOAD)
      c.seq = (c.seq + PAYLOAD) >>> 0
      if (s % 2 === 1) emit(c, false, ACK, 0)
    }
  for (const c of conv) {
    emit(c, true, FIN | ACK, 0)
    c.seq = (c.seq + 1) >>> 0
    emit(c, false, FIN | ACK, 0)
    c.ack = (c.ack + 1) >>> 0
    emit(c, true, ACK, 0)
  }
  writeSync(fd, out, 0, used)
  closeSync(fd)
  return packets
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { flows: { type: 'string', default: '200' }, segments: { type: 'string' } }
  })
  if (positionals.length !== 1) {
    console.error('usage: node bench/bulk-capture.mjs FILE [--flows N] [--segments N]')
    process.exit(2)
  }
  const packets = writeBulkCapture(positionals[0], {
    flows: Number(values.flows),
    segments: values.segments ? Number(values.segments) : undefined
  })
  console.log(`${positionals[0]}: ${packets} packets`)
}
