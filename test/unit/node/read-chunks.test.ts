// The node-side readers that feed the capture readers their chunks (src-main/node).
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { readAhead } from '../../../src-main/node/read-ahead'
import { CHUNK_BYTES, readChunks } from '../../../src-main/node/read-chunks'

const dir = mkdtempSync(join(tmpdir(), 'verdict-chunks-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** Writes `size` bytes of a pattern no two nearby chunks share, and returns the path and bytes. */
function file(name: string, size: number): { path: string; bytes: Uint8Array } {
  const bytes = new Uint8Array(size)
  for (let i = 0; i < size; i++) bytes[i] = (i * 7 + (i >> 12)) & 0xff
  const path = join(dir, name)
  writeFileSync(path, bytes)
  return { path, bytes }
}

/** Returns copies of every chunk (each is valid only until the next is asked for). */
async function collect(chunks: AsyncIterable<Uint8Array>): Promise<Uint8Array[]> {
  const out: Uint8Array[] = []
  for await (const c of chunks) out.push(c.slice())
  return out
}

/** Whether the chunks, one after another, are exactly `bytes` (toEqual is slow on megabytes). */
function same(chunks: Uint8Array[], bytes: Uint8Array): boolean {
  return Buffer.compare(joined(chunks), bytes) === 0
}

function joined(chunks: Uint8Array[]): Uint8Array {
  const all = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0))
  let at = 0
  for (const c of chunks) {
    all.set(c, at)
    at += c.length
  }
  return all
}

/** Runs `read` over a file opened here, closing it after. */
async function withFd<T>(path: string, read: (fd: number) => Promise<T>): Promise<T> {
  const fd = openSync(path, 'r')
  try {
    return await read(fd)
  } finally {
    closeSync(fd)
  }
}

describe('readChunks', () => {
  it('yields a small file whole, in full chunks and a shorter last one', async () => {
    const { path, bytes } = file('small.bin', 2 * CHUNK_BYTES + 123)
    const chunks = await collect(readChunks(path))
    expect(chunks.map((c) => c.length)).toEqual([CHUNK_BYTES, CHUNK_BYTES, 123])
    expect(same(chunks, bytes)).toBe(true)
  })

  it('throws the open error of a missing file', async () => {
    await expect(collect(readChunks(join(dir, 'missing.bin')))).rejects.toMatchObject({
      code: 'ENOENT'
    })
  })
})

describe('readAhead', () => {
  it.each([
    ['several rings and a short last chunk', 37 * 4096 + 5],
    ['an exact number of chunks', 12 * 4096],
    ['less than one chunk', 100],
    ['nothing', 0]
  ])('yields every byte in order: %s', async (_, size) => {
    const { path, bytes } = file(`ahead-${size}.bin`, size)
    const chunks = await withFd(path, (fd) => collect(readAhead(fd, 4096)))
    expect(chunks.slice(0, -1).every((c) => c.length === 4096)).toBe(true)
    expect(same(chunks, bytes)).toBe(true)
  })

  it('gives the same bytes to a consumer slower than the reader thread', async () => {
    const { path, bytes } = file('slow.bin', 20 * 4096 + 7)
    const chunks = await withFd(path, async (fd) => {
      const out: Uint8Array[] = []
      for await (const c of readAhead(fd, 4096)) {
        out.push(c.slice())
        // Give the thread time to start after the first chunk, then to fill the whole ring and
        // wait for a free slot before each next one.
        await new Promise((r) => setTimeout(r, out.length === 1 ? 500 : 2))
      }
      return out
    })
    expect(same(chunks, bytes)).toBe(true)
  })

  it('stops its thread when the consumer stops early, before the file is closed', async () => {
    const { path, bytes } = file('early.bin', 64 * 4096)
    const first = await withFd(path, async (fd) => {
      for await (const c of readAhead(fd, 4096)) return c.slice()
      return undefined
    })
    expect(first && same([first], bytes.subarray(0, 4096))).toBe(true)
  })

  it('throws a read error where the consumer reads', async () => {
    // A directory opens, but reading it fails (EISDIR): in the thread and again in the consumer.
    await expect(withFd(dir, (fd) => collect(readAhead(fd, 4096)))).rejects.toMatchObject({
      code: 'EISDIR'
    })
  })
})
