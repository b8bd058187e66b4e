import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { readFile } from 'node:fs/promises'
import { extname, join, normalize } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createHandlers, type Handlers } from '../main/handlers'
import { resolveArg } from '../main/resolve-arg'
import { runAnalysis } from '../worker/run-analysis'
import { throttleProgress } from '../worker/throttle-progress'

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.png': 'image/png',
  '.svg': 'image/svg+xml'
}
const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

/** `verdict serve [PATH...] [--port N]`: the app's renderer in a browser, on 127.0.0.1 only. */
export async function runServe(args: string[]): Promise<number> {
  let port = 0
  const paths: string[] = []
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--port') port = Number(args[++i])
    else if (args[i].startsWith('--port=')) port = Number(args[i].slice(7))
    else if (args[i].startsWith('-')) {
      process.stderr.write(
        `verdict serve: unknown option ${args[i]}\nusage: verdict serve [PATH...] [--port N]\n`
      )
      return 2
    } else paths.push(resolveArg(args[i]))
  }
  const root = fileURLToPath(new URL('../renderer/', import.meta.url))
  const sampleDir = fileURLToPath(new URL('../../resources/sample-incident', import.meta.url))
  const api = createHandlers({
    run: (list, onProgress, signal, options) =>
      runAnalysis(list, { onProgress, signal, whatIf: options.whatIf }),
    initialPaths: paths,
    sampleDir,
    // Browser mode opens only what it was started with (or the sample): the page cannot name others.
    mayAnalyse: (p) => (paths.length > 0 ? paths.includes(p) : p === sampleDir)
  })
  const server = createServer((req, res) => {
    handle(req, res, root, api).catch((e: unknown) => {
      res.writeHead(500, { 'content-type': 'text/plain' })
      res.end(`internal error: ${e instanceof Error ? e.message : String(e)}`)
    })
  })
  await new Promise<void>((done) => server.listen(port, '127.0.0.1', done))
  const address = server.address()
  const actual = typeof address === 'object' && address ? address.port : port
  process.stdout.write(`Verdict is at http://127.0.0.1:${actual}/ (Ctrl-C to stop)\n`)
  await new Promise<void>((done) => server.on('close', done))
  return 0
}

async function handle(
  req: IncomingMessage,
  res: ServerResponse,
  root: string,
  api: Handlers
): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://127.0.0.1')
  if (url.pathname.startsWith('/api/')) {
    if (req.method !== 'POST') return send(res, 405, 'text/plain', 'POST only')
    // The browser is as untrusted as Electron's renderer: the handlers validate every argument.
    let args: unknown[]
    try {
      const parsed: unknown = JSON.parse((await body(req)) || '[]')
      args = Array.isArray(parsed) ? parsed : []
    } catch {
      return send(res, 400, 'text/plain', 'the body must be a JSON array of arguments')
    }
    const name = url.pathname.slice(5)
    switch (name) {
      case 'startup':
        return json(res, { ...api.startup(), canPick: false })
      case 'pickFiles':
      case 'pickFolder':
        // No file dialog in a browser: the files are the ones serve was started with.
        return json(res, api.startup().paths)
      case 'analyse':
        return streamAnalysis(res, api, args[0], args[1])
      case 'cancel':
        api.cancel()
        return json(res, null)
      case 'readText':
        return json(res, await api.readText(args[0]))
      case 'packet':
        return json(res, await api.packet(args[0], args[1]))
      case 'exportReport':
        return json(res, { ok: false, error: { message: 'browser mode does not save files' } })
    }
    return send(res, 404, 'text/plain', `no such call: ${name}`)
  }
  const file = normalize(join(root, url.pathname === '/' ? 'index.html' : url.pathname))
  if (!file.startsWith(root)) return send(res, 403, 'text/plain', 'forbidden')
  try {
    const data = await readFile(file)
    res.writeHead(200, {
      'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
      'content-security-policy': CSP
    })
    res.end(data)
  } catch {
    send(res, 404, 'text/plain', 'not found')
  }
}

/** Answers an analysis as JSON lines: progress as it comes, then the result. */
async function streamAnalysis(
  res: ServerResponse,
  api: Handlers,
  paths: unknown,
  options: unknown
): Promise<void> {
  res.writeHead(200, { 'content-type': 'application/x-ndjson' })
  const result = await api.analyse(
    paths,
    options,
    throttleProgress((p) => res.write(JSON.stringify({ progress: p }) + '\n'))
  )
  res.end(JSON.stringify({ result }) + '\n')
}

function body(req: IncomingMessage): Promise<string> {
  return new Promise((done, fail) => {
    let text = ''
    req.on('data', (c: Buffer) => {
      text += c.toString('utf8')
      if (text.length > 1 << 20) req.destroy(new Error('request too large'))
    })
    req.on('end', () => done(text))
    req.on('error', fail)
  })
}

function json(res: ServerResponse, value: unknown): void {
  send(res, 200, 'application/json', JSON.stringify(value))
}

function send(res: ServerResponse, status: number, type: string, text: string): void {
  res.writeHead(status, { 'content-type': type })
  res.end(text)
}
