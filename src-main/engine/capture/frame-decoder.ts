import { decodeFrame, isSupportedLinkType } from './decode-link'
import type { CaptureInterface, PacketSink, ReadOptions } from './capture-types'
import type { Packet } from './packet'
import { createReassembler } from './reassemble-ip'

/** Turns raw records into decoded packets, counting them per interface; shared by pcap and pcapng. */
export interface FrameDecoder {
  /** Decodes one record and hands the packet to the sink. */
  emit(
    iface: CaptureInterface,
    sec: number,
    nsec: number,
    len: number,
    b: Uint8Array,
    off: number,
    caplen: number,
    comment?: string
  ): void
  packets(): number
  unsupported(): number
}

/** Returns a FrameDecoder writing to `sink`. */
export function createFrameDecoder(sink: PacketSink, options: ReadOptions): FrameDecoder {
  const frags = options.reassemble === false ? undefined : createReassembler()
  const headersOnly = options.headersOnly === true
  let n = 0
  let unsupported = 0
  // Packets come in runs from one interface: decide support once per run, not per packet.
  let lastIface: CaptureInterface | undefined
  let lastSupported = false
  return {
    emit(iface, sec, nsec, len, b, off, caplen, comment) {
      n++
      iface.packets++
      if (iface.tsOffsetSec) sec += iface.tsOffsetSec
      const pkt: Packet = {
        n,
        iface: iface.id,
        sec,
        nsec,
        timeUs: sec * 1e6 + Math.floor(nsec / 1000),
        len,
        caplen,
        link: {
          type: iface.linkType,
          vlan: undefined,
          sllPktType: undefined,
          sllIfindex: undefined,
          nflog: undefined,
          etherType: undefined
        },
        ip: undefined,
        l4: undefined,
        reassembled: undefined,
        comment,
        problem: undefined
      }
      if (iface !== lastIface) {
        lastIface = iface
        lastSupported = isSupportedLinkType(iface.linkType)
      }
      if (!lastSupported) {
        unsupported++
        iface.unsupported = true
      } else if (!headersOnly) {
        let end = off + caplen
        // Drop the trailing frame check sequence so it is never read as payload.
        if (iface.fcsLen && caplen === len && caplen > iface.fcsLen) end -= iface.fcsLen
        decodeFrame(iface.linkType, b, off, end, pkt, frags)
      }
      sink(pkt, iface)
    },
    packets: () => n,
    unsupported: () => unsupported
  }
}
