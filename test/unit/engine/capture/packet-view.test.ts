import { readdirSync, readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { PacketView, viewFromPacket } from '../../../../src-main/engine/capture/packet-view'
import {
  createCaptureViewReader,
  readCaptureBytes
} from '../../../../src-main/engine/capture/read-capture'
import { InputError } from '../../../../src-main/engine/capture/input-error'
import { CORPUS } from '../../../support/run'

/** The view's numbers that mean something for a packet, by what it carries. */
function numbers(v: PacketView): Record<string, unknown> {
  const r: Record<string, unknown> = {
    n: v.n,
    iface: v.iface,
    sec: v.sec,
    nsec: v.nsec,
    timeUs: v.timeUs,
    len: v.len,
    caplen: v.caplen,
    vlan: Array.from(v.vlan.subarray(0, v.vlanCount)),
    etherType: v.etherType,
    sllPktType: v.sllPktType,
    ipVersion: v.ipVersion,
    l4: v.l4
  }
  if (v.ipVersion !== 0) {
    Object.assign(r, { src: v.srcText(), dst: v.dstText(), ttl: v.ttl, proto: v.proto })
    if (v.ipVersion === 4) Object.assign(r, { ipId: v.ipId, totalLen: v.totalLen, df: v.df })
    else Object.assign(r, { payloadLen: v.ipPayloadLen, flowLabel: v.flowLabel })
  }
  if (v.l4 === 6 || v.l4 === 17)
    Object.assign(r, { sport: v.sport, dport: v.dport, checksum: v.checksum, pl: v.payloadLen })
  if (v.l4 === 6)
    Object.assign(r, {
      seq: v.seq,
      ack: v.ack,
      flags: v.flags,
      win: v.win,
      optMask: v.optMask,
      mss: v.mss,
      wscale: v.wscale,
      tsval: v.tsval,
      tsecr: v.tsecr,
      sack: v.sackCount
    })
  return r
}

describe('PacketView', () => {
  const dir = resolve(CORPUS, 'pcaps')
  const names = readdirSync(dir).filter((n) => /\.(pcap|pcapng|cap)(\.gz)?$/.test(n))

  it('carries the numbers of the Packet the full decoder makes, on every corpus capture', () => {
    let fast = 0
    for (const name of names) {
      const bytes = readFileSync(resolve(dir, name))
      let packets
      try {
        packets = readCaptureBytes(name, bytes).packets
      } catch (e) {
        if (e instanceof InputError) continue
        throw e
      }
      const seen: Record<string, unknown>[] = []
      const fromPacket: Record<string, unknown>[] = []
      const reader = createCaptureViewReader(name, (v) => {
        if (!v.full) {
          fast++
          // The Packet materialised from a fast view is the full decoder's packet.
          expect(v.packet(), `${name} frame ${v.n}`).toEqual(packets[v.n - 1])
        }
        seen.push(numbers(v))
      })
      reader.push(bytes)
      reader.end()
      const scratch = new PacketView()
      for (const p of packets) {
        viewFromPacket(scratch, p)
        fromPacket.push(numbers(scratch))
      }
      expect(seen, name).toEqual(fromPacket)
    }
    expect(fast).toBeGreaterThan(1000)
  })
})
