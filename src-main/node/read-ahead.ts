import { readSync } from 'node:fs'
import { Worker } from 'node:worker_threads'

/** Chunks in the ring the reader thread fills: how far it may run ahead of the consumer. */
const SLOTS = 8

/**
 * Once the ring is full the thread sleeps until this many slots are free again, then reads
 * them in one go: waking it costs a system call and often a context switch, so it is woken
 * once per few chunks rather than once per chunk.
 */
const WAKE_AFTER = SLOTS / 2

/** Slot states, in the control array. */
const FREE = 0
const FILLING = 1
const READY = 2
const FAILED = 3

/**
 * Control array layout: the next chunk number to claim, the stop flag, how many chunks the
 * consumer has freed, the freed count the sleeping thread wants to be woken at and whether it
 * sleeps, then per slot its state and length.
 */
const NEXT = 0
const STOP = 1
const FREED = 2
const WAKE_AT = 3
const SLEEPING = 4
const STATE = 5
const LENGTH = STATE + SLOTS

/**
 * The reader thread, as source (an eval worker needs no file of its own beside
 * the bundle). It claims chunk numbers in order, each into the slot its number
 * modulo SLOTS names once the consumer has freed it, and reads it at the
 * chunk's own position, so a chunk the consumer read itself is never read twice.
 */
const READER_SOURCE = `
const { workerData } = require('node:worker_threads')
const { readSync } = require('node:fs')
const { fd, data, control, slots, size } = workerData
const c = new Int32Array(control)
const NEXT = ${NEXT}, STOP = ${STOP}, FREED = ${FREED}, WAKE_AT = ${WAKE_AT}
const SLEEPING = ${SLEEPING}, STATE = ${STATE}, LENGTH = ${LENGTH}
function run() {
  for (;;) {
    const k = Atomics.load(c, NEXT)
    const i = k % slots
    while (Atomics.load(c, STATE + i) !== ${FREE} && Atomics.load(c, STOP) === 0) {
      // Ask to be woken once the consumer has freed a few more slots; the second look at the
      // slot, after saying so, catches a slot freed in between.
      const freed = Atomics.load(c, FREED)
      Atomics.store(c, WAKE_AT, freed + ${WAKE_AFTER})
      Atomics.store(c, SLEEPING, 1)
      if (Atomics.load(c, STATE + i) !== ${FREE} && Atomics.load(c, STOP) === 0)
        Atomics.wait(c, FREED, freed)
      Atomics.store(c, SLEEPING, 0)
    }
    if (Atomics.load(c, STOP) !== 0) return
    if (Atomics.compareExchange(c, NEXT, k, k + 1) !== k) continue
    Atomics.store(c, STATE + i, ${FILLING})
    let got = 0
    try {
      const buffer = new Uint8Array(data, i * size, size)
      for (let n; got < size && (n = readSync(fd, buffer, got, size - got, k * size + got)) > 0; ) got += n
    } catch {
      // The consumer reads the chunk again itself and throws the error where it belongs.
      Atomics.store(c, STATE + i, ${FAILED})
      Atomics.notify(c, STATE + i)
      return
    }
    Atomics.store(c, LENGTH + i, got)
    Atomics.store(c, STATE + i, ${READY})
    Atomics.notify(c, STATE + i)
    if (got < size) return
  }
}
run()
`

/** Atomics.waitAsync (Node 16+), missing from the ES2023 library types. */
const waitAsync = (
  Atomics as unknown as {
    waitAsync(
      a: Int32Array,
      index: number,
      value: number
    ): { async: false; value: string } | { async: true; value: Promise<string> }
  }
).waitAsync

/**
 * Yields the chunks of the open file `fd` (chunkBytes each, the last one
 * shorter), read ahead by a reader thread into a ring of shared buffers so
 * that copying the file overlaps decoding it: on a 1 GB capture the copy alone
 * takes about 0.2 s of the consumer's time otherwise.
 *
 * The consumer never waits for the thread to start: a chunk nobody has
 * claimed yet it reads itself, as it does when the thread fails or dies. Each
 * chunk is valid until the next is requested. The caller keeps `fd` open
 * until the generator has finished; the thread is stopped before it does.
 */
export async function* readAhead(fd: number, chunkBytes: number): AsyncGenerator<Uint8Array> {
  const data = new SharedArrayBuffer(SLOTS * chunkBytes)
  const control = new Int32Array(new SharedArrayBuffer(4 * (LENGTH + SLOTS)))
  let dead = false
  const threadGone = (): void => {
    dead = true
    for (let i = 0; i < SLOTS; i++) Atomics.notify(control, STATE + i)
  }
  let worker: Worker | undefined
  try {
    worker = new Worker(READER_SOURCE, {
      eval: true,
      workerData: { fd, data, control: control.buffer, slots: SLOTS, size: chunkBytes }
    })
    // A consumer that abandons the generator must not keep the process alive.
    worker.unref()
    worker.on('error', threadGone)
    worker.on('exit', threadGone)
  } catch {
    dead = true
  }
  try {
    for (let k = 0; ; k++) {
      const i = k % SLOTS
      const slot = new Uint8Array(data, i * chunkBytes, chunkBytes)
      for (;;) {
        const state = Atomics.load(control, STATE + i)
        if (state === READY) break
        if (state === FAILED || dead || (state === FREE && claim(control, k, i))) {
          Atomics.store(control, LENGTH + i, fill(fd, slot, k * chunkBytes))
          Atomics.store(control, STATE + i, READY)
          break
        }
        const wait = waitAsync(control, STATE + i, state)
        if (wait.async) {
          // A pending waitAsync does not keep Node's event loop alive: the thread must, meanwhile.
          worker?.ref()
          await wait.value
          worker?.unref()
        }
      }
      const length = Atomics.load(control, LENGTH + i)
      if (length === 0) return
      yield slot.subarray(0, length)
      Atomics.store(control, STATE + i, FREE)
      const freed = Atomics.add(control, FREED, 1) + 1
      if (Atomics.load(control, SLEEPING) !== 0 && freed >= Atomics.load(control, WAKE_AT))
        Atomics.notify(control, FREED)
      if (length < chunkBytes) return
    }
  } finally {
    Atomics.store(control, STOP, 1)
    Atomics.notify(control, FREED)
    // The thread may be inside a read of `fd`: let it stop before the caller closes it.
    if (worker) {
      worker.off('exit', threadGone)
      await worker.terminate()
    }
  }
}

/**
 * Claims chunk k, whose slot i the consumer has just found free, for the
 * consumer to read itself. The slot is taken first, so that the thread cannot
 * run a whole ring ahead into it meanwhile; when the thread has claimed the
 * chunk a moment before, it is reading it into this slot and the claim fails.
 */
function claim(control: Int32Array, k: number, i: number): boolean {
  if (Atomics.compareExchange(control, STATE + i, FREE, FILLING) !== FREE) return false
  return Atomics.compareExchange(control, NEXT, k, k + 1) === k
}

/** Reads up to buffer.length bytes at `position`, fewer only at the end of the file. */
function fill(fd: number, buffer: Uint8Array, position: number): number {
  let got = 0
  while (got < buffer.length) {
    const n = readSync(fd, buffer, got, buffer.length - got, position + got)
    if (n === 0) break
    got += n
  }
  return got
}
