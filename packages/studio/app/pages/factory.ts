/**
 * ModelFactory, no code: pre-train a base model or pick one, choose datanet versions, set a few
 * knobs, fine-tune a LoRA adapter (the dev node trains it in a worker thread; the page follows the
 * loss curve), then register it from the selected account. Registration is an ordinary
 * transaction built here (registerBaseModel / registerAdapter with the training config bytes), so
 * any EIP-1193 wallet can sign it; the node only trains.
 */
import { modelsAbi } from '@openledger/attribution/abi'
import { type Abi, decodeEventLog, encodeFunctionData, type Hex, parseEther } from 'viem'
import { type Child, errorBox, fields, h, render } from '../dom.ts'
import { type Receipt, rpc } from '../rpc.ts'
import { devOnly, followJob, type Job, jobView } from '../training.ts'
import { send, wallet } from '../wallet.ts'

export const MODELS = '0x4f50454e00000000000000000000000000000002'
const abi = modelsAbi as Abi

interface ListedModel {
  id: string
  name: string
  baseModel: string
  provider: string
  minFeePerInference: string
}
interface ListedDatanet {
  id: string
  name: string
  versionCount: string
}

/** Base models carry the trainer format as their base (`ol-tfm-v1/<preset>`); adapters `model:<id>`. */
export const isBase = (m: ListedModel) => m.baseModel.startsWith('ol-tfm-v1/')
export const isAdapter = (m: ListedModel) => /^model:\d+$/.test(m.baseModel)

export async function listModels(): Promise<ListedModel[]> {
  return (await rpc<{ items: ListedModel[] }>('ol_listModels', ['0x0', 100])).items
}

export function registeredModelId(receipt: Receipt): bigint {
  for (const log of receipt.logs) {
    if (log.address.toLowerCase() !== MODELS) continue
    try {
      const e = decodeEventLog({ abi, data: log.data as Hex, topics: log.topics as [Hex, ...Hex[]] })
      if (e.eventName === 'ModelRegistered') return (e.args as unknown as { modelId: bigint }).modelId
    } catch {
      // another event of the module
    }
  }
  throw new Error('the transaction registered no model')
}

const field = (id: string, label: string, input: HTMLElement, hint?: string) =>
  h(
    'div',
    { class: 'field' },
    h('label', { for: id }, label),
    input,
    hint ? h('small', { id: `${id}-hint` }, hint) : null,
  )
const num = (id: string, value: number | string, min: number, max: number, step: number | 'any' = 1) =>
  h('input', { id, type: 'number', value, min, max, step, required: true, 'aria-describedby': `${id}-hint` })
const value = (id: string) => (document.getElementById(id) as HTMLInputElement).value

/** A status line that a form's outcome replaces. */
function statusLine(id: string): HTMLElement {
  return h('p', { id, class: 'status', role: 'status', 'aria-live': 'polite' })
}

function fail(at: HTMLElement, e: unknown): void {
  render(at, errorBox(devOnly(e)))
}

export async function factoryPage(main: HTMLElement): Promise<() => void> {
  let left = false
  const stopped = () => left
  const [models, datanets] = await Promise.all([
    listModels(),
    rpc<{ items: ListedDatanet[] }>('ol_listDatanets', ['0x0', 100]).then((r) => r.items),
  ])
  const bases = models.filter(isBase)
  const published = datanets.filter((d) => BigInt(d.versionCount) > 0n)

  // ---- pre-train a base model
  const ptJob = h('div', { id: 'pt-job', 'aria-live': 'polite' })
  const pretrain = h(
    'form',
    { id: 'pretrain', 'aria-labelledby': 'pt-title' },
    h('h3', { id: 'pt-title' }, 'Pre-train a base model'),
    h(
      'p',
      {},
      'Trains ol-tfm-v1 from scratch on public-domain State of the Union addresses (deterministic: anyone can re-train it to the same hash).',
    ),
    field(
      'pt-preset',
      'Size',
      h(
        'select',
        { id: 'pt-preset' },
        h('option', { value: 'micro' }, 'micro (17.5 k parameters, seconds)'),
        h('option', { value: 'tiny' }, 'tiny (119 k parameters, minutes)'),
      ),
    ),
    field('pt-steps', 'Steps', num('pt-steps', 150, 1, 2000), 'Training steps (1–2,000).'),
    field('pt-docs', 'Corpus documents', num('pt-docs', 40, 11, 60), 'How many addresses to read (11–60).'),
    field(
      'pt-name',
      'Name',
      h('input', { id: 'pt-name', value: 'ol-tfm-v1 micro', required: true, maxlength: 200 }),
    ),
    h('button', { type: 'submit' }, 'Pre-train base model'),
    ptJob,
  )
  pretrain.addEventListener('submit', (ev) => {
    ev.preventDefault()
    const button = pretrain.querySelector('button') as HTMLButtonElement
    button.disabled = true
    const name = value('pt-name')
    rpc<Job>('studio_trainBase', [
      { preset: value('pt-preset'), steps: Number(value('pt-steps')), corpusDocs: Number(value('pt-docs')) },
    ])
      .then((job) => followJob(job.id, (j) => render(ptJob, jobView(j)), stopped))
      .then((job) => {
        if (left) return
        const r = job.result as Record<string, string | number>
        const status = statusLine('pt-register-status')
        const reg = h('button', { type: 'button', id: 'pt-register' }, 'Register base model')
        reg.addEventListener('click', () => {
          reg.disabled = true
          status.textContent = 'Sending transaction…'
          send({
            to: MODELS,
            data: encodeFunctionData({
              abi,
              functionName: 'registerBaseModel',
              args: [
                {
                  name,
                  baseModel: r.baseModel,
                  trainingConfigHash: r.trainingConfigHash,
                  trainingLogHash: r.trainingLogHash,
                  artifactHash: r.artifactHash,
                  artifactURI: r.artifactURI,
                  steps: r.steps,
                  seed: BigInt(r.seed as string),
                  config: r.config,
                },
              ],
            }),
          })
            .then((receipt) => {
              location.hash = `#/model/${registeredModelId(receipt)}`
            })
            .catch((e: unknown) => status.replaceWith(errorBox(e)))
        })
        render(
          ptJob,
          jobView(job),
          fields([
            ['Held-out loss', `${Number(r.heldOutLoss).toFixed(4)} nats/byte`],
            ['Artifact hash', h('span', { class: 'mono' }, String(r.artifactHash))],
          ]),
          reg,
          status,
        )
      })
      .catch((e: unknown) => fail(ptJob, e))
      .finally(() => {
        button.disabled = false
      })
  })

  // ---- fine-tune an adapter
  const ftJob = h('div', { id: 'ft-job', 'aria-live': 'polite' })
  const versionPickers: Child[] = published.map((d) =>
    field(
      `ft-dn-${BigInt(d.id)}`,
      `#${BigInt(d.id)} ${d.name}`,
      h(
        'select',
        { id: `ft-dn-${BigInt(d.id)}`, class: 'dn-version', 'data-datanet': String(BigInt(d.id)) },
        h('option', { value: '' }, 'not used'),
        ...Array.from({ length: Number(BigInt(d.versionCount)) }, (_, i) =>
          h(
            'option',
            { value: String(i + 1), selected: i + 1 === Number(BigInt(d.versionCount)) },
            `version ${i + 1}`,
          ),
        ),
      ),
    ),
  )
  const finetune = h(
    'form',
    { id: 'finetune', 'aria-labelledby': 'ft-title' },
    h('h2', { id: 'ft-title' }, 'Fine-tune a model'),
    field(
      'ft-base',
      'Base model',
      h(
        'select',
        { id: 'ft-base', required: true },
        ...bases.map((m) => h('option', { value: String(BigInt(m.id)) }, `#${BigInt(m.id)} ${m.name}`)),
      ),
    ),
    h(
      'fieldset',
      {},
      h('legend', {}, 'Datanet versions to train on'),
      versionPickers.length > 0
        ? versionPickers
        : h('p', { class: 'empty' }, 'No published datanet version yet.'),
    ),
    h(
      'fieldset',
      { class: 'knobs' },
      h('legend', {}, 'Training knobs'),
      field('ft-rank', 'LoRA rank', num('ft-rank', 4, 1, 64), 'Size of the adapter (1–64).'),
      field('ft-alpha', 'LoRA alpha', num('ft-alpha', 8, 1, 65535), 'Update scale = alpha / rank.'),
      field('ft-steps', 'Steps', num('ft-steps', 200, 2, 2000), 'Training steps (2–2,000).'),
      field('ft-batch', 'Batch', num('ft-batch', 8, 1, 32), 'Sequences per step (1–32).'),
      field('ft-lr', 'Learning rate', num('ft-lr', 0.01, 0.000001, 0.5, 'any'), 'Peak learning rate.'),
      field('ft-seed', 'Seed', num('ft-seed', 1, 0, Number.MAX_SAFE_INTEGER), 'Same seed, same adapter.'),
    ),
    h(
      'button',
      { type: 'submit', disabled: bases.length === 0 || published.length === 0 },
      'Start fine-tuning',
    ),
    ftJob,
  )
  finetune.addEventListener('submit', (ev) => {
    ev.preventDefault()
    const button = finetune.querySelector('button[type=submit]') as HTMLButtonElement
    const picked = [...finetune.querySelectorAll<HTMLSelectElement>('select.dn-version')]
      .filter((s) => s.value !== '')
      .map((s) => ({ datanetId: Number(s.dataset.datanet), version: Number(s.value) }))
    if (picked.length === 0) {
      render(ftJob, errorBox('Choose at least one datanet version.'))
      return
    }
    button.disabled = true
    const request = {
      baseModelId: Number(value('ft-base')),
      datanets: picked,
      rank: Number(value('ft-rank')),
      alpha: Number(value('ft-alpha')),
      steps: Number(value('ft-steps')),
      batch: Number(value('ft-batch')),
      lr: Number(value('ft-lr')),
      seed: value('ft-seed'),
    }
    rpc<Job>('studio_trainAdapter', [request])
      .then((job) => followJob(job.id, (j) => render(ftJob, jobView(j)), stopped))
      .then((job) => {
        if (!left) render(ftJob, jobView(job), registerForm(job, request.baseModelId, picked))
      })
      .catch((e: unknown) => fail(ftJob, e))
      .finally(() => {
        button.disabled = false
      })
  })

  render(
    main,
    h('h1', {}, 'ModelFactory'),
    h(
      'p',
      {},
      'Fine-tune a LoRA adapter of a base model on published datanet versions, then register it: every paid answer it gives pays those datanets’ contributors. Training is deterministic, so anyone can re-run it from chain data and check the hashes (the model page’s Verify).',
    ),
    finetune,
    h('h2', {}, 'Base models'),
    bases.length > 0
      ? h(
          'ul',
          {},
          ...bases.map((m) =>
            h(
              'li',
              {},
              h('a', { href: `#/model/${BigInt(m.id)}` }, `#${BigInt(m.id)} ${m.name}`),
              ` (${m.baseModel})`,
            ),
          ),
        )
      : h('p', { class: 'empty' }, 'No base model registered yet: pre-train one below.'),
    pretrain,
  )
  return () => {
    left = true
  }
}

function registerForm(
  job: Job,
  baseModelId: number,
  datanets: { datanetId: number; version: number }[],
): HTMLElement {
  const r = job.result as Record<string, string | number>
  const providers = wallet.kind === 'dev' ? wallet.accounts : wallet.selected ? [wallet.selected] : []
  const status = statusLine('rg-status')
  const form = h(
    'form',
    { id: 'register', 'aria-labelledby': 'rg-title' },
    h('h3', { id: 'rg-title' }, 'Register the model'),
    fields([
      [
        'Held-out loss',
        `base ${Number(r.heldOutLossBase).toFixed(4)} → adapter ${Number(r.heldOutLossAdapter).toFixed(4)} nats/byte`,
      ],
      ['Records', String(r.records)],
      ['Artifact hash', h('span', { class: 'mono' }, String(r.artifactHash))],
      ['Training config hash', h('span', { class: 'mono' }, String(r.trainingConfigHash))],
      ['Training log hash', h('span', { class: 'mono' }, String(r.trainingLogHash))],
    ]),
    field('rg-name', 'Name', h('input', { id: 'rg-name', required: true, maxlength: 200, value: '' })),
    field(
      'rg-provider',
      'Provider (serves and signs answers)',
      h(
        'select',
        { id: 'rg-provider' },
        ...providers.map((a) => h('option', { value: a, selected: a === wallet.selected }, a)),
      ),
    ),
    field(
      'rg-fee',
      'Minimum fee per answer (OPEN)',
      h('input', { id: 'rg-fee', value: '0.01', required: true, inputmode: 'decimal' }),
    ),
    field(
      'rg-share',
      'Owner share (%)',
      num('rg-share', 20, 0, 100, 'any'),
      'Of each fee, after the protocol and stakers.',
    ),
    h('button', { type: 'submit' }, 'Register model'),
    status,
  )
  form.addEventListener('submit', (ev) => {
    ev.preventDefault()
    const button = form.querySelector('button') as HTMLButtonElement
    button.disabled = true
    status.textContent = 'Sending transaction…'
    let data: Hex
    try {
      data = encodeFunctionData({
        abi,
        functionName: 'registerAdapter',
        args: [
          {
            name: value('rg-name'),
            baseModel: `model:${baseModelId}`,
            parentId: BigInt(baseModelId),
            datanets: datanets.map((d) => ({ datanetId: BigInt(d.datanetId), version: BigInt(d.version) })),
            trainingConfigHash: r.trainingConfigHash,
            trainingLogHash: r.trainingLogHash,
            artifactHash: r.artifactHash,
            artifactURI: r.artifactURI,
            provider: value('rg-provider'),
            minFeePerInference: parseEther(value('rg-fee')),
            ownerShareBps: Math.round(Number(value('rg-share')) * 100),
          },
          {
            kind: 2,
            baseModelId: BigInt(baseModelId),
            rank: r.rank,
            alpha: r.alpha,
            steps: r.steps,
            seed: BigInt(r.seed as string),
            config: r.config,
          },
        ],
      })
    } catch (e) {
      status.replaceWith(errorBox(e))
      button.disabled = false
      return
    }
    send({ to: MODELS, data })
      .then((receipt) => {
        location.hash = `#/model/${registeredModelId(receipt)}`
      })
      .catch((e: unknown) => {
        status.replaceWith(Object.assign(errorBox(e), { id: 'rg-status' }))
        button.disabled = false
      })
  })
  return form
}
