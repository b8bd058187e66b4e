import { closeSync, fstatSync, openSync, readdirSync, readFileSync, readSync } from 'node:fs'
import { availableParallelism, loadavg } from 'node:os'
import { setImmediate as nextTurn } from 'node:timers/promises'
import { readyFor } from '../engine/capture/read-capture'
import { readAhead } from './read-ahead'

/** Bytes per read: large enough that per-read overhead vanishes, small enough to stay in cache. */
export const CHUNK_BYTES = 1 << 20

/** Longest stretch of reading and decoding before the event loop gets a turn. */
const TURN_MS = 20

/**
 * Files from this size on are read ahead by a reader thread: starting one
 * costs tens of milliseconds, which only a large file earns back.
 */
const READ_AHEAD_MIN_BYTES = 64 << 20

/**
 * Yields a file's bytes in chunks of CHUNK_BYTES (the last one shorter). Each
 * chunk is valid only until the next one is requested: the engine's readers
 * copy what they keep, so no buffer is allocated per chunk.
 *
 * Reads are synchronous: from the page cache a 1 MiB read is a memcpy of a
 * fraction of a millisecond, while an asynchronous read costs a thread-pool
 * round trip and an event-loop wake-up each (measured on a 1 GB capture: about
 * 0.21 s synchronous, 0.33–0.48 s asynchronous even with 4 MiB reads). A large
 * file is read ahead by a reader thread besides (read-ahead.ts) when a core is
 * free to run it, so that the copying overlaps the decoding. So that timers,
 * messages and cancellation still get through, the generator gives the event
 * loop a turn whenever TURN_MS have passed since the last one.
 */
export async function* readChunks(path: string): AsyncGenerator<Uint8Array> {
  const fd = openSync(path, 'r')
  try {
    const stat = fstatSync(fd)
    const chunks =
      stat.isFile() && stat.size >= READ_AHEAD_MIN_BYTES && spareCore()
        ? readAhead(fd, CHUNK_BYTES)
        : readHere(fd)
    let lastTurn = performance.now()
    for await (const chunk of chunks) {
      yield chunk
      const now = performance.now()
      if (now - lastTurn >= TURN_MS) {
        await nextTurn()
        lastTurn = performance.now()
      }
    }
  } finally {
    closeSync(fd)
  }
}

/**
 * Yields a capture file's chunks as readChunks does, the capture readers made ready for its
 * format (a gzip capture's decompressor loaded) before the first one.
 */
export async function* readCaptureChunks(path: string): AsyncGenerator<Uint8Array> {
  let first = true
  for await (const chunk of readChunks(path)) {
    if (first) await readyFor(chunk)
    first = false
    yield chunk
  }
}

/**
 * Whether a core is idle enough to run the reader thread. The thread pays off only on a core of
 * its own: sharing one with other work, it costs its start-up and a context switch per few
 * chunks while the decoding waits for the core (measured on a busy 2-core machine: 0.1 s
 * slower on a 1 GB capture than reading here). Linux says how many threads are runnable right
 * now in /proc/loadavg; this process's own (this one, and V8's compiler and collector threads
 * busy at start-up) are not competition. Elsewhere the one-minute load average, which lags,
 * stands in.
 */
function spareCore(): boolean {
  return availableParallelism() - othersRunnable() >= 1
}

/** Threads of other processes runnable now (Linux), or the one-minute load average. */
function othersRunnable(): number {
  try {
    const m = /\s(\d+)\/\d+\s/.exec(readFileSync('/proc/loadavg', 'utf8'))
    if (m) return Number(m[1]) - ownRunnable()
  } catch {
    // Not Linux: fall back below.
  }
  return loadavg()[0]
}

/** This process's threads that are runnable now (state R in /proc/self/task/N/stat), at least 1. */
function ownRunnable(): number {
  let n = 0
  for (const task of readdirSync('/proc/self/task')) {
    try {
      const stat = readFileSync(`/proc/self/task/${task}/stat`, 'utf8')
      // The state follows the command name, which is in parentheses and may hold spaces.
      if (stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'R') n++
    } catch {
      // The thread ended meanwhile.
    }
  }
  return Math.max(n, 1)
}

/** Yields the file's chunks read on this thread into one reused buffer. */
function* readHere(fd: number): Generator<Uint8Array> {
  const buffer = new Uint8Array(CHUNK_BYTES)
  for (;;) {
    const bytesRead = readSync(fd, buffer, 0, CHUNK_BYTES, null)
    if (bytesRead === 0) return
    yield buffer.subarray(0, bytesRead)
  }
}
