/**
 * The pcap-parser side of the reader comparison: streams a capture through
 * pcap-parser (the library the design card names) and reads, for every packet,
 * what a minimal decoder needs: EtherType through VLAN tags, IP version,
 * protocol and ports. Prints one JSON line.
 *
 *   node bench/pcap-parser-read.mjs FILE
 */
import { createReadStream } from 'node:fs'
import pcapParser from 'pcap-parser'

const file = process.argv[2]
let packets = 0
let sum = 0
const t0 = performance.now()
const parser = pcapParser.parse(createReadStream(file, { highWaterMark: 1 << 20 }))
parser.on('packet', ({ data }) => {
  packets++
  let o = 12
  let type = data.readUInt16BE(o)
  while (type === 0x8100 || type === 0x88a8) {
    o += 4
    type = data.readUInt16BE(o)
  }
  o += 2
  if (type === 0x0800) {
    const ihl = (data[o] & 0x0f) * 4
    const proto = data[o + 9]
    sum = (sum + proto + data.readUInt32BE(o + 12)) | 0
    if (proto === 6 || proto === 17)
      sum = (sum + data.readUInt16BE(o + ihl) + data.readUInt16BE(o + ihl + 2)) | 0
  } else if (type === 0x86dd) {
    const proto = data[o + 6]
    sum = (sum + proto) | 0
    if (proto === 6 || proto === 17)
      sum = (sum + data.readUInt16BE(o + 40) + data.readUInt16BE(o + 42)) | 0
  }
})
parser.on('error', (e) => {
  console.error(`pcap-parser: ${e.message}`)
  process.exitCode = 1
})
parser.on('end', () => {
  const seconds = (performance.now() - t0) / 1000
  console.log(
    JSON.stringify({
      packets,
      checksum: sum >>> 0,
      seconds,
      maxRssKB: process.resourceUsage().maxRSS
    })
  )
})
