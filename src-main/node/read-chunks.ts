import { open } from 'node:fs/promises'

/** Bytes per read: large enough that per-read overhead vanishes, small enough to stay in cache. */
const CHUNK_BYTES = 1 << 20

/**
 * Yields a file's bytes in chunks read into two reused buffers: while the
 * caller works on one chunk, the next is already being read into the other.
 * Each chunk is valid only until the next one is requested: the engine's
 * readers copy what they keep, so no buffer is allocated per chunk.
 */
export async function* readChunks(path: string): AsyncGenerator<Uint8Array> {
  const handle = await open(path, 'r')
  const buffers = [new Uint8Array(CHUNK_BYTES), new Uint8Array(CHUNK_BYTES)]
  let which = 0
  let position = 0
  let pending: Promise<{ bytesRead: number }> | undefined = handle.read(
    buffers[0],
    0,
    CHUNK_BYTES,
    0
  )
  try {
    for (;;) {
      const { bytesRead } = await pending!
      pending = undefined
      if (bytesRead === 0) return
      position += bytesRead
      const chunk = buffers[which].subarray(0, bytesRead)
      which ^= 1
      // The buffer read next held the chunk before this one, which the caller is done with.
      pending = handle.read(buffers[which], 0, CHUNK_BYTES, position)
      yield chunk
    }
  } finally {
    // A caller that stops early leaves a read in flight: let it land before closing.
    if (pending) await pending.catch(() => undefined)
    await handle.close()
  }
}
