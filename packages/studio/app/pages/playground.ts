/**
 * Inference playground: pick a model, ask; the dev node's OpenLoRA provider answers with a receipt
 * signed by the model's provider; pay by settling it on chain from the selected account (any
 * wallet: the page builds the `settle` call with the receipt's fee as value); then the split per
 * datanet and contributor, and the attribution recomputed on demand.
 */
import { attributionAbi } from '@openledger/attribution/abi'
import { type Abi, encodeFunctionData, type Hex } from 'viem'
import { ATTRIBUTION } from '../decode.ts'
import { errorBox, h, render, table } from '../dom.ts'
import { open } from '../format.ts'
import { rpc } from '../rpc.ts'
import { devOnly } from '../training.ts'
import { send, wallet } from '../wallet.ts'
import { isAdapter, listModels } from './factory.ts'
import { type Attribution, receiptView } from './payable.ts'

interface ReceiptJson {
  modelId: string
  modelVersion: number
  inputHash: Hex
  outputHash: Hex
  entries: {
    datanetId: string
    datanetVersion: string
    weight: number
    contributionIds: string[]
    contributionWeights: number[]
  }[]
  nonce: string
  deadline: string
  payer: Hex
  fee: string
  attributionCommitment: Hex
}

interface Answer {
  output: string
  model: { id: string; version: number; name: string }
  receipt: ReceiptJson
  signature: Hex
  receiptId: Hex
  evidence?: {
    spans: { text: string; contributions: { datanetId: string; contributionId: string; credit: string }[] }[]
  }
}

function settleCall(a: Answer): Hex {
  const r = a.receipt
  return encodeFunctionData({
    abi: attributionAbi as Abi,
    functionName: 'settle',
    args: [
      {
        modelId: BigInt(r.modelId),
        modelVersion: r.modelVersion,
        inputHash: r.inputHash,
        outputHash: r.outputHash,
        entries: r.entries.map((e) => ({
          datanetId: BigInt(e.datanetId),
          datanetVersion: BigInt(e.datanetVersion),
          weight: e.weight,
          contributionIds: e.contributionIds.map(BigInt),
          contributionWeights: e.contributionWeights,
        })),
        nonce: BigInt(r.nonce),
        deadline: BigInt(r.deadline),
        payer: r.payer,
        fee: BigInt(r.fee),
        attributionCommitment: r.attributionCommitment,
      },
      a.signature,
    ],
  })
}

export async function playgroundPage(main: HTMLElement): Promise<void> {
  const models = (await listModels()).filter(isAdapter)
  const answer = h('div', { id: 'answer', 'aria-live': 'polite' })
  const form = h(
    'form',
    { id: 'ask', 'aria-labelledby': 'ask-title' },
    h('h2', { id: 'ask-title' }, 'Ask a model'),
    h(
      'div',
      { class: 'field' },
      h('label', { for: 'ask-model' }, 'Model'),
      h(
        'select',
        { id: 'ask-model', required: true },
        ...models.map((m) =>
          h(
            'option',
            { value: String(BigInt(m.id)) },
            `#${BigInt(m.id)} ${m.name} (min fee ${open(m.minFeePerInference)})`,
          ),
        ),
      ),
    ),
    h(
      'div',
      { class: 'field' },
      h('label', { for: 'ask-prompt' }, 'Prompt'),
      h('textarea', { id: 'ask-prompt', rows: 3, required: true, maxlength: 4096 }),
    ),
    h(
      'div',
      { class: 'field' },
      h('label', { for: 'ask-tokens' }, 'Answer length (bytes)'),
      h('input', { id: 'ask-tokens', type: 'number', value: 48, min: 1, max: 256, required: true }),
    ),
    h(
      'div',
      { class: 'field' },
      h('label', { for: 'ask-temp' }, 'Temperature (0 = always the likeliest byte)'),
      h('input', { id: 'ask-temp', type: 'number', value: 0.7, min: 0, max: 2, step: 'any', required: true }),
    ),
    h('button', { type: 'submit', disabled: models.length === 0 }, 'Ask'),
  )
  form.addEventListener('submit', (ev) => {
    ev.preventDefault()
    const button = form.querySelector('button') as HTMLButtonElement
    if (!wallet.selected) {
      render(answer, errorBox('Choose an account first: it pays for the answer.'))
      return
    }
    button.disabled = true
    render(answer, h('p', { class: 'loading', role: 'status' }, 'The provider is answering…'))
    rpc<Answer>('studio_ask', [
      {
        modelId: Number((document.getElementById('ask-model') as HTMLSelectElement).value),
        prompt: (document.getElementById('ask-prompt') as HTMLTextAreaElement).value,
        maxTokens: Number((document.getElementById('ask-tokens') as HTMLInputElement).value),
        temperature: Number((document.getElementById('ask-temp') as HTMLInputElement).value),
        payer: wallet.selected,
      },
    ])
      .then((a) => render(answer, ...answerView(a)))
      .catch((e: unknown) => render(answer, errorBox(devOnly(e))))
      .finally(() => {
        button.disabled = false
      })
  })
  render(
    main,
    h('h1', {}, 'Inference playground'),
    h(
      'p',
      {},
      'The answer comes with a receipt signed by the model’s provider: which datanet versions and contributions it draws on, and the fee. Paying settles the receipt on chain, which splits the fee among them.',
    ),
    models.length > 0
      ? form
      : h('p', { class: 'empty' }, 'No fine-tuned model yet: train one in ModelFactory.'),
    answer,
  )
}

function answerView(a: Answer): HTMLElement[] {
  const settled = h('div', { id: 'settled', 'aria-live': 'polite' })
  const pay = h('button', { type: 'button', id: 'pay' }, `Pay ${open(a.receipt.fee)} and settle`)
  pay.addEventListener('click', () => {
    pay.disabled = true
    render(settled, h('p', { class: 'status', role: 'status' }, 'Sending transaction…'))
    send({ to: ATTRIBUTION, data: settleCall(a), value: BigInt(a.receipt.fee) })
      .then(() => rpc<Attribution | null>('ol_getAttribution', [a.receiptId]))
      .then((s) => {
        if (!s) throw new Error(`receipt ${a.receiptId} is not settled`)
        pay.remove()
        render(settled, h('h2', {}, 'Paid: where the fee went'), ...receiptView(s, a.output))
      })
      .catch((e: unknown) => {
        pay.disabled = false
        render(settled, errorBox(e))
      })
  })
  const spans = a.evidence?.spans ?? []
  return [
    h('h2', {}, `Answer of #${a.model.id} ${a.model.name}`),
    h('blockquote', { id: 'answer-text' }, a.output),
    h('h3', {}, 'What the answer draws on'),
    table(
      ['Span of the answer', 'Contributions credited'],
      spans.map((s) => [
        h('q', {}, s.text),
        s.contributions.map((c, i) => [
          i ? ', ' : '',
          `datanet #${c.datanetId} contribution #${c.contributionId}`,
        ]),
      ]),
      'No span of the answer matches a contribution: the fee goes to the versions’ shareholders by weight.',
    ),
    h('p', {}, `Fee asked: ${open(a.receipt.fee)}. `, pay),
    settled,
  ]
}
