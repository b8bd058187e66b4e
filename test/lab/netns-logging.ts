/**
 * Kernel packet logging from inside network namespaces: the global sysctl
 * net.netfilter.nf_log_all_netns must be 1, or LOG / nft `log` rules in a namespace write nothing.
 *
 * Several test files (in several processes) may need it at once, so each holder leaves a file
 * named by its pid in HOLDERS_DIR, and the value found before the first holder is saved beside
 * them. The last holder to leave restores it; holders whose process is gone do not count, so a
 * crashed run cannot keep the setting on for ever.
 */
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync
} from 'node:fs'
import { join } from 'node:path'

const SYSCTL = '/proc/sys/net/netfilter/nf_log_all_netns'
/** Where holders and the saved value live. */
export const HOLDERS_DIR = '/tmp/verdict-nf-log-all-netns'
const ORIGINAL = join(HOLDERS_DIR, 'original')
const LOCK = join(HOLDERS_DIR, 'lock')
let counter = 0

/** Runs `fn` with nf_log_all_netns=1 and restores the earlier value when the last holder is done. */
export async function withNetnsLogging<T>(fn: () => Promise<T>): Promise<T> {
  const me = join(HOLDERS_DIR, `holder-${process.pid}-${++counter}`)
  await locked(() => {
    const others = liveHolders()
    if (others.length === 0 && !existsSync(ORIGINAL)) writeFileSync(ORIGINAL, readSysctl())
    writeFileSync(me, `${process.pid}\n`)
    writeFileSync(SYSCTL, '1\n')
  })
  try {
    return await fn()
  } finally {
    await locked(() => {
      rmSync(me, { force: true })
      if (liveHolders().length > 0) return
      if (existsSync(ORIGINAL)) {
        writeFileSync(SYSCTL, `${readFileSync(ORIGINAL, 'utf8').trim()}\n`)
        rmSync(ORIGINAL, { force: true })
      }
    })
  }
}

/** Returns the sysctl's current value ('0' or '1'). */
export function readSysctl(): string {
  return readFileSync(SYSCTL, 'utf8').trim()
}

/** Holder files whose process still runs; the others are removed. */
function liveHolders(): string[] {
  const live: string[] = []
  for (const name of readdirSync(HOLDERS_DIR)) {
    const m = /^holder-(\d+)-\d+$/.exec(name)
    if (!m) continue
    if (alive(Number(m[1]))) live.push(name)
    else rmSync(join(HOLDERS_DIR, name), { force: true })
  }
  return live
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** Runs `fn` holding a lock directory (mkdir is atomic); a lock older than 30 s is stale. */
async function locked(fn: () => void): Promise<void> {
  mkdirSync(HOLDERS_DIR, { recursive: true })
  for (let attempt = 0; ; attempt++) {
    try {
      mkdirSync(LOCK)
      break
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e
      if (staleLock() || attempt > 600) rmSync(LOCK, { recursive: true, force: true })
      await new Promise((r) => setTimeout(r, 50))
    }
  }
  try {
    fn()
  } finally {
    rmSync(LOCK, { recursive: true, force: true })
  }
}

function staleLock(): boolean {
  try {
    return Date.now() - statSync(LOCK).mtimeMs > 30_000
  } catch {
    return false
  }
}
