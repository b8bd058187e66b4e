import { open } from 'node:fs/promises'

/** Bytes per read: large enough that per-read overhead vanishes, small enough to stay in cache. */
const CHUNK_BYTES = 1 << 20

/**
 * Yields a file's bytes in chunks read into one reused buffer. Each chunk is
 * valid only until the next one is requested: the engine's readers copy what
 * they keep, so no buffer is allocated per chunk.
 */
export async function* readChunks(path: string): AsyncGenerator<Uint8Array> {
  const handle = await open(path, 'r')
  try {
    const buffer = new Uint8Array(CHUNK_BYTES)
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, CHUNK_BYTES, null)
      if (bytesRead === 0) return
      yield buffer.subarray(0, bytesRead)
    }
  } finally {
    await handle.close()
  }
}
