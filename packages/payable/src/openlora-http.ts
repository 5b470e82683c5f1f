/**
 * HTTP face of the OpenLoRA provider: OpenAI-compatible completions and chat completions with
 * `model` = the adapter's model id (streaming as server-sent events), the provider's own
 * `/v1/infer` (what `openledger infer` uses), model listing and health.
 *
 *   GET  /v1/models                 OpenAI model list: the base model and every served adapter
 *   POST /v1/completions            {model, prompt, max_tokens?, temperature?, top_k?, seed?, stream?, payer?}
 *   POST /v1/chat/completions       {model, messages, …same}
 *   POST /v1/infer                  {model?, prompt, maxTokens?, seed?, payer?} → {output, receipt, signature, …}
 *   GET  /v1/model                  base, adapters (resident or not), LRU statistics
 *   GET  /health
 *
 * Every answer from an adapter carries `openledger: {receipt, signature, receiptId, chainId,
 * evidence, model}`; answers from the base model carry no receipt (a base model is not paid for).
 */
import { randomBytes } from 'node:crypto'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { keccak256, stringToBytes } from 'viem'
import { PayableError } from './errors.ts'
import { type Answer, type OpenLoraProvider, parseModelName } from './openlora.ts'
import {
  type ChatMessage,
  DEFAULT_MAX_TOKENS,
  HttpError,
  intField,
  listenProvider,
  MAX_TOKENS_LIMIT,
  messagesHash,
  object,
  type ProviderServer,
  payerField,
  readBody,
  send,
  textField,
} from './provider.ts'
import { receiptToJson } from './receipts.ts'

const DEFAULT_TEMPERATURE = 0.7
const DEFAULT_TOP_K = 20

function numberField(
  o: Record<string, unknown>,
  name: string,
  def: number,
  min: number,
  max: number,
): number {
  const v = o[name]
  if (v === undefined || v === null) return def
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) {
    throw new HttpError(400, `${name} must be a number in [${min}, ${max}]`)
  }
  return v
}

function modelField(p: OpenLoraProvider, o: Record<string, unknown>, required: boolean): bigint | undefined {
  const v = o.model
  if (v === undefined || v === null) {
    if (required) throw new HttpError(400, 'model is required (an adapter model id, see GET /v1/models)')
    const served = p.served()
    if (served.length === 1) return served[0]?.model.id
    throw new HttpError(400, 'model is required: this provider serves several adapters')
  }
  const id =
    typeof v === 'number' && Number.isSafeInteger(v) && v > 0
      ? BigInt(v)
      : typeof v === 'string'
        ? parseModelName(v)
        : undefined
  if (id === undefined) throw new HttpError(400, 'model must be a model id ("7", "model-7")')
  return id === p.base.id ? undefined : id
}

interface Common {
  modelId: bigint | undefined
  maxTokens: number
  temperature: number
  topK: number
  seed: bigint
  stream: boolean
  payer: ReturnType<typeof payerField>
}

function commonFields(p: OpenLoraProvider, o: Record<string, unknown>): Common {
  if (o.stream !== undefined && typeof o.stream !== 'boolean')
    throw new HttpError(400, 'stream must be a boolean')
  return {
    modelId: modelField(p, o, true),
    maxTokens: intField(o, 'max_tokens', DEFAULT_MAX_TOKENS, 1, MAX_TOKENS_LIMIT),
    temperature: numberField(o, 'temperature', DEFAULT_TEMPERATURE, 0, 2),
    topK: intField(o, 'top_k', DEFAULT_TOP_K, 0, 257),
    seed: BigInt(intField(o, 'seed', 0, 0, Number.MAX_SAFE_INTEGER)),
    stream: o.stream === true,
    payer: payerField(o, 'payer'),
  }
}

function openledgerPart(p: OpenLoraProvider, a: Answer): Record<string, unknown> {
  return {
    model: { id: a.model.id.toString(), version: a.model.version, name: a.model.name },
    chainId: p.ctx.chainId,
    receipt: a.receipt === undefined ? null : receiptToJson(a.receipt),
    signature: a.signature ?? null,
    receiptId: a.receiptId ?? null,
    evidence: a.evidence ?? null,
  }
}

function parseMessages(v: unknown): ChatMessage[] {
  if (!Array.isArray(v) || v.length === 0 || v.length > 256) {
    throw new HttpError(400, 'messages must be a non-empty array (at most 256)')
  }
  return v.map((m, i) => {
    if (m === null || typeof m !== 'object') throw new HttpError(400, `messages[${i}] must be an object`)
    const { role, content } = m as Record<string, unknown>
    if (typeof role !== 'string' || !['system', 'user', 'assistant'].includes(role)) {
      throw new HttpError(400, `messages[${i}].role must be system, user or assistant`)
    }
    return { role, content: textField(content, `messages[${i}].content`) }
  })
}

/** Server-sent events: one `data:` line per chunk; each write waits for the socket to drain. */
class EventStream {
  closed = false
  constructor(private readonly res: ServerResponse) {
    res.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
    })
    res.on('close', () => {
      this.closed = true
    })
  }

  async write(data: unknown): Promise<void> {
    if (this.closed) throw new HttpError(499, 'client closed the stream')
    const ok = this.res.write(`data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`)
    // Let the event loop flush (and other requests run) between tokens.
    await new Promise<void>((r) => (ok ? setImmediate(r) : this.res.once('drain', r)))
  }

  end(): void {
    if (!this.closed) this.res.end()
  }
}

async function completions(
  p: OpenLoraProvider,
  req: IncomingMessage,
  res: ServerResponse,
  chat: boolean,
): Promise<[number, unknown] | undefined> {
  const o = object(await readBody(req))
  const c = commonFields(p, o)
  let prompt: string
  let inputHash: `0x${string}`
  if (chat) {
    const messages = parseMessages(o.messages)
    const lastUser = [...messages].reverse().find((m) => m.role === 'user')
    if (lastUser === undefined) throw new HttpError(400, 'messages hold no user message')
    prompt = lastUser.content
    inputHash = messagesHash(messages)
  } else {
    prompt = textField(o.prompt, 'prompt')
    inputHash = keccak256(stringToBytes(prompt))
  }
  const id = `${chat ? 'chatcmpl' : 'cmpl'}-${randomBytes(12).toString('hex')}`
  const created = Math.floor(Date.now() / 1000)
  const model = String(c.modelId ?? p.base.id)
  const object_ = chat ? 'chat.completion' : 'text_completion'
  const usage = (a: Answer) => {
    const promptTokens = stringToBytes(prompt).length
    return { prompt_tokens: promptTokens, completion_tokens: a.tokens, total_tokens: promptTokens + a.tokens }
  }
  const request = {
    modelId: c.modelId,
    prompt,
    maxTokens: c.maxTokens,
    seed: c.seed,
    temperature: c.temperature,
    topK: c.topK,
    payer: c.payer,
    inputHash,
  }
  if (!c.stream) {
    const a = await p.answer(request)
    const choice = chat
      ? { index: 0, message: { role: 'assistant', content: a.output }, finish_reason: a.finish }
      : { index: 0, text: a.output, finish_reason: a.finish, logprobs: null }
    return [
      200,
      {
        id,
        object: object_,
        created,
        model,
        choices: [choice],
        usage: usage(a),
        openledger: openledgerPart(p, a),
      },
    ]
  }
  // Resolve the model before the 200 goes out, so an unknown model is still a plain 404.
  if (c.modelId !== undefined) await p.resolve(c.modelId)
  const sse = new EventStream(res)
  const chunkObject = chat ? 'chat.completion.chunk' : 'text_completion'
  const chunk = (
    delta: Record<string, unknown> | string,
    finish: string | null,
    extra: Record<string, unknown> = {},
  ) => ({
    id,
    object: chunkObject,
    created,
    model,
    choices: [
      chat
        ? { index: 0, delta, finish_reason: finish }
        : { index: 0, text: delta, finish_reason: finish, logprobs: null },
    ],
    ...extra,
  })
  try {
    if (chat) await sse.write(chunk({ role: 'assistant', content: '' }, null))
    const a = await p.answer({ ...request, onText: (t) => sse.write(chunk(chat ? { content: t } : t, null)) })
    await sse.write(chunk(chat ? {} : '', a.finish, { usage: usage(a), openledger: openledgerPart(p, a) }))
    await sse.write('[DONE]')
  } catch (err) {
    if (!sse.closed) {
      const status = err instanceof HttpError ? err.status : 500
      const message = err instanceof HttpError || err instanceof PayableError ? err.message : 'internal error'
      await sse.write({ error: { status, message } }).catch(() => {})
    }
  } finally {
    sse.end()
  }
  return undefined
}

async function infer(p: OpenLoraProvider, req: IncomingMessage): Promise<unknown> {
  const o = object(await readBody(req))
  const prompt = textField(o.prompt, 'prompt')
  const modelId = modelField(p, o, false)
  if (modelId === undefined)
    throw new HttpError(400, 'the base model is not paid for: name an adapter as model')
  const a = await p.answer({
    modelId,
    prompt,
    maxTokens: intField(o, 'maxTokens', DEFAULT_MAX_TOKENS, 1, MAX_TOKENS_LIMIT),
    seed: BigInt(intField(o, 'seed', 0, 0, Number.MAX_SAFE_INTEGER)),
    temperature: numberField(o, 'temperature', DEFAULT_TEMPERATURE, 0, 2),
    topK: intField(o, 'top_k', DEFAULT_TOP_K, 0, 257),
    payer: payerField(o, 'payer'),
    inputHash: keccak256(stringToBytes(prompt)),
  })
  return {
    output: a.output,
    receipt: a.receipt === undefined ? null : receiptToJson(a.receipt),
    signature: a.signature,
    receiptId: a.receiptId,
    chainId: p.ctx.chainId,
    model: { id: a.model.id.toString(), version: a.model.version, name: a.model.name },
    evidence: a.evidence,
  }
}

function modelsList(p: OpenLoraProvider): unknown {
  const entry = (id: bigint, owner: string, extra: Record<string, unknown>) => ({
    id: String(id),
    object: 'model',
    created: 0,
    owned_by: owner,
    openledger: extra,
  })
  return {
    object: 'list',
    data: [
      entry(p.base.id, p.base.owner, { kind: 'base', name: p.base.name, paid: false }),
      ...p.served().map((a) =>
        entry(a.model.id, a.model.owner, {
          kind: 'lora',
          name: a.model.name,
          version: a.model.version,
          baseModelId: p.base.id.toString(),
          fee: a.model.minFeePerInference.toString(),
          datanets: a.model.datanets.map((d) => `${d.datanetId}@${d.version}`),
        }),
      ),
    ],
  }
}

export function serveOpenLora(
  p: OpenLoraProvider,
  opts: { host?: string; port?: number; onRequest?: (line: string) => void } = {},
): Promise<ProviderServer> {
  const server = createServer((req, res) => {
    const started = Date.now()
    const path = (req.url ?? '/').split('?')[0]
    const route = async (): Promise<[number, unknown] | undefined> => {
      if (path === '/health') return [200, { ok: true }]
      if (path === '/v1/models' || path === '/v1/model') {
        if (req.method !== 'GET') throw new HttpError(405, 'use GET')
        if (path === '/v1/models' && p.o.adapters === 'all') await p.discover()
        return [200, path === '/v1/models' ? modelsList(p) : p.info()]
      }
      if (path === '/v1/completions' || path === '/v1/chat/completions' || path === '/v1/infer') {
        if (req.method !== 'POST') throw new HttpError(405, 'use POST')
        if (path === '/v1/infer') return [200, await infer(p, req)]
        return completions(p, req, res, path === '/v1/chat/completions')
      }
      throw new HttpError(404, `no route ${path}`)
    }
    route().then(
      (r) => {
        if (r !== undefined) send(res, r[0], r[1])
        opts.onRequest?.(`${req.method} ${path} ${r?.[0] ?? 200} ${Date.now() - started}ms`)
      },
      (err: unknown) => {
        const status = err instanceof HttpError ? err.status : 500
        const message =
          err instanceof HttpError || err instanceof PayableError ? err.message : 'internal error'
        if (status === 500) opts.onRequest?.(`error: ${(err as Error).stack ?? String(err)}`)
        if (!res.headersSent) {
          if (status === 413) res.setHeader('connection', 'close')
          send(res, status, {
            error: { status, message, type: status === 404 ? 'not_found_error' : 'invalid_request_error' },
          })
        } else res.end()
        opts.onRequest?.(`${req.method} ${path} ${status} ${Date.now() - started}ms`)
      },
    )
  })
  return listenProvider(server, opts)
}
