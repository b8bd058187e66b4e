/**
 * A kernel message wrapped the way each logger writes it, so that one real line the kernel wrote
 * can be read through every wrapper. The time is fixed: 2026-11-21 10:00:00.123456 at UTC+01:00.
 */

/** The wrappers, by the name readLog reports, each as a function of the kernel message. */
export const WRAPPERS: Record<string, (message: string) => string> = {
  dmesg: (m) => `[ 1234.567890] ${m}`,
  'dmesg-T': (m) => `[Sat Nov 21 10:00:00 2026] ${m}`,
  syslog: (m) => `Nov 21 10:00:00 labhost kernel: ${m}`,
  'syslog-iso': (m) => `2026-11-21T10:00:00.123456+01:00 labhost kernel: ${m}`,
  rfc5424: (m) => `<4>1 2026-11-21T10:00:00.123456+01:00 labhost kernel - - - ${m}`,
  'journal-short-iso': (m) => `2026-11-21T10:00:00+0100 labhost kernel: ${m}`,
  'journal-short-precise': (m) => `Nov 21 10:00:00.123456 labhost kernel: ${m}`,
  'journal-json': (m) =>
    JSON.stringify({
      __REALTIME_TIMESTAMP: '1795251600123456',
      _HOSTNAME: 'labhost',
      _TRANSPORT: 'kernel',
      SYSLOG_IDENTIFIER: 'kernel',
      MESSAGE: m
    })
}

/** A journal JSON line whose MESSAGE is written as an array of bytes (journald does so for non-UTF-8). */
export function journalBytes(message: string): string {
  return JSON.stringify({
    __REALTIME_TIMESTAMP: '1795251600123456',
    _HOSTNAME: 'labhost',
    _TRANSPORT: 'kernel',
    MESSAGE: [...new TextEncoder().encode(message)]
  })
}

/** The kernel message of a raw dmesg line (its `[ seconds]` stamp taken off). */
export function dmesgMessage(line: string): string {
  return line.replace(/^\[\s*\d+\.\d+\]\s?/, '')
}
