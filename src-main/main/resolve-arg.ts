import { resolve } from 'node:path'

/** Returns a command-line path made absolute; in NAME=PATH (a named host or point) only the path. */
export function resolveArg(arg: string, cwd = process.cwd()): string {
  const named = /^([^=/\\]+)=(.+)$/.exec(arg)
  return named ? `${named[1]}=${resolve(cwd, named[2])}` : resolve(cwd, arg)
}
