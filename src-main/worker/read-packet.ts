import { readCaptureChunks } from '../node/read-chunks'
import { createCaptureReader } from '../engine/capture/read-capture'
import { formatPacketLine } from '../engine/capture/format-packet-line'
import { formatTimestamp, toPacketRecord } from '../engine/capture/packet-record'
import { InputError } from '../engine/capture/input-error'
import type { Packet } from '../engine/capture/packet'
import type { PacketDetail } from '../shared/api'
import type { Result } from '../shared/result'
import { packetLayers } from './packet-layers'

/**
 * Returns one frame of a capture decoded into layers. The file is streamed
 * through the engine's reader and reading stops at the frame, so memory stays
 * bounded however large the capture.
 */
export async function readPacket(path: string, frame: number): Promise<Result<PacketDetail>> {
  let found: { p: Packet; digits: number } | undefined
  const reader = createCaptureReader(path, (p, iface) => {
    if (p.n === frame) found = { p, digits: iface.tsDigits }
  })
  try {
    for await (const chunk of readCaptureChunks(path)) {
      reader.push(chunk)
      if (found) break
    }
    if (!found) reader.end()
  } catch (e) {
    const message = e instanceof InputError ? e.message : `${path}: ${(e as Error).message}`
    return { ok: false, error: { message, file: path } }
  }
  if (!found) return { ok: false, error: { message: `${path}: no frame ${frame}`, file: path } }
  const { p, digits } = found
  return {
    ok: true,
    value: {
      path,
      frame,
      time: formatTimestamp(p.sec, p.nsec, digits),
      summary: formatPacketLine(toPacketRecord(p, digits)),
      layers: packetLayers(p, digits)
    }
  }
}
