/**
 * What every answer must look like: a JSON-RPC 2.0 response (or array of them) with a valid id,
 * exactly one of result/error, integer codes, and messages that give nothing of the node's
 * internals away (no stack traces, source paths or node_modules).
 */

/** Traces of internals that must never reach a client. */
const LEAK = /\n\s+at |\bat (?:async )?[\w$.<>]+ \(|node:internal|node_modules|\/src\/[\w/-]+\.ts|file:\/\//

function isId(v: unknown): boolean {
  return v === null || typeof v === 'string' || (typeof v === 'number' && Number.isFinite(v))
}

function checkResponse(r: unknown, where: string): string | undefined {
  if (typeof r !== 'object' || r === null || Array.isArray(r)) return `${where}: not an object`
  const o = r as Record<string, unknown>
  if (o.jsonrpc !== '2.0') return `${where}: jsonrpc is ${JSON.stringify(o.jsonrpc)}`
  if (!('id' in o) || !isId(o.id)) return `${where}: missing or invalid id`
  const hasResult = 'result' in o
  const hasError = 'error' in o
  if (hasResult === hasError) return `${where}: must have exactly one of result and error`
  if (hasError) {
    const e = o.error as Record<string, unknown> | null
    if (typeof e !== 'object' || e === null) return `${where}: error is not an object`
    if (!Number.isInteger(e.code)) return `${where}: error code ${JSON.stringify(e.code)} is not an integer`
    if (typeof e.message !== 'string' || e.message === '') return `${where}: error without message`
    const text = `${e.message} ${e.data === undefined ? '' : JSON.stringify(e.data)}`
    if (LEAK.test(text)) return `${where}: error leaks internals: ${text.slice(0, 300)}`
    if (
      e.code === -32603 &&
      /^internal error$/.test(e.message as string) === false &&
      LEAK.test(e.message as string)
    )
      return `${where}: internal error leaks internals`
  }
  return undefined
}

/** Whether a request (parsed) expects no answer at all: a notification or a batch of them. */
export function expectsNoAnswer(body: unknown): boolean {
  const isNotification = (x: unknown) =>
    typeof x === 'object' &&
    x !== null &&
    !Array.isArray(x) &&
    !('id' in x) &&
    (x as Record<string, unknown>).jsonrpc === '2.0' &&
    typeof (x as Record<string, unknown>).method === 'string' &&
    (x as Record<string, unknown>).method !== ''
  if (Array.isArray(body)) return body.length > 0 && body.length <= 1000 && body.every(isNotification)
  return isNotification(body)
}

/** Checks one HTTP exchange; returns a problem description or undefined. */
export function checkHttp(
  body: unknown,
  raw: string | undefined,
  status: number,
  text: string,
): string | undefined {
  if (status === 413) return undefined
  if (status !== 200) return `HTTP ${status}: ${text.slice(0, 200)}`
  if (text === '') {
    if (raw === undefined && expectsNoAnswer(body)) return undefined
    return 'empty answer to a request that needs one'
  }
  return checkPayload(body, raw, text)
}

/** Checks an answer's JSON text against the request it answers. */
export function checkPayload(body: unknown, raw: string | undefined, text: string): string | undefined {
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    return `answer is not JSON: ${text.slice(0, 200)}`
  }
  if (raw !== undefined) {
    // Invalid JSON must be -32700; valid JSON that is not a request, -32600.
    let valid = true
    try {
      JSON.parse(raw)
    } catch {
      valid = false
    }
    if (!valid) {
      const e = (parsed as { error?: { code?: number } }).error
      if (e?.code !== -32700) return `invalid JSON answered with ${JSON.stringify(parsed).slice(0, 200)}`
    }
  }
  if (Array.isArray(parsed)) {
    if (!Array.isArray(body)) return 'array answer to a non-batch request'
    for (let i = 0; i < parsed.length; i++) {
      const p = checkResponse(parsed[i], `batch item ${i}`)
      if (p) return p
    }
    const asked = new Set(
      body
        .filter((b) => typeof b === 'object' && b !== null && 'id' in b)
        .map((b) => (b as { id: unknown }).id),
    )
    for (const item of parsed as Array<{ id: unknown }>)
      if (item.id !== null && !asked.has(item.id))
        return `batch answer with an id nobody asked for: ${item.id}`
    return undefined
  }
  const p = checkResponse(parsed, 'answer')
  if (p) return p
  const req = body as Record<string, unknown> | undefined
  const id = (parsed as { id: unknown }).id
  if (
    raw === undefined &&
    !Array.isArray(body) &&
    req !== null &&
    typeof req === 'object' &&
    'id' in req &&
    isId(req.id) &&
    req.jsonrpc === '2.0' &&
    id !== req.id &&
    id !== null
  )
    return `answer id ${JSON.stringify(id)} for request id ${JSON.stringify(req.id)}`
  return undefined
}
