import { execFile, execFileSync } from 'node:child_process'
import { resolve } from 'node:path'

/** The repository root. */
export const ROOT = resolve(import.meta.dirname, '../..')
/** The shared corpus of public captures, rulesets and logs. */
export const CORPUS = resolve(ROOT, '../shared/corpus')
/** The built command line. */
export const CLI = resolve(ROOT, 'out/cli/verdict.mjs')

/** Returns whether a program is on the PATH. */
export function hasProgram(name: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

/** The result of running a program to completion. */
export interface Ran {
  code: number
  stdout: string
  stderr: string
}

/** Runs a program and resolves with its exit status and output (never rejects on a non-zero exit). */
export function run(cmd: string, args: string[], opts: { timeoutMs?: number } = {}): Promise<Ran> {
  return new Promise((resolveRan, reject) => {
    execFile(
      cmd,
      args,
      { maxBuffer: 512 * 1024 * 1024, timeout: opts.timeoutMs ?? 120_000 },
      (err, stdout, stderr) => {
        if (err && typeof (err as NodeJS.ErrnoException).code === 'string') return reject(err)
        const code = err ? ((err as { code?: number }).code ?? 1) : 0
        resolveRan({ code: typeof code === 'number' ? code : 1, stdout, stderr })
      }
    )
  })
}

/** Runs the built `verdict` command line. */
export function verdict(args: string[]): Promise<Ran> {
  return run(process.execPath, [CLI, ...args])
}
