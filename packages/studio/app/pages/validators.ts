/**
 * Validators and epochs (the Staking module, through its ol_* methods): the current epoch, the set
 * that validates the next block, and every validator with its status, stake and commission.
 */
import { fields, h, link, render, table } from '../dom.ts'
import { num, open } from '../format.ts'
import { optional, rpc } from '../rpc.ts'
import { addrLink } from './explorer.ts'

interface ValidatorSet {
  forBlock: string
  epoch: { number: string; startBlock: string; nextStartBlock: string; setHash: string }
  validators: Array<{ consensusAddress: string; operator: string | null; tokens: string; jailed: boolean }>
  totalBonded: string
}

interface Validator {
  operator: string
  consensusAddress: string
  statusName: string
  jailed: boolean
  tombstoned: boolean
  tokens: string
  selfDelegation: string
  commissionBps: string
  description?: { moniker?: string }
}

export async function validatorsPage(main: HTMLElement): Promise<void> {
  const set = await optional<ValidatorSet>('ol_getValidatorSet')
  if (set === undefined) {
    render(
      main,
      h('h1', {}, 'Validators'),
      h(
        'p',
        { class: 'empty' },
        'This chain has no Staking module: its validators are fixed in the genesis file.',
      ),
    )
    return
  }
  const [list, params, head] = await Promise.all([
    rpc<{ total: string; items: Validator[] }>('ol_listValidators', ['all', '0x0', '0x64']),
    rpc<{ epochLength: string; maxValidators: string; unbondingTime: string }>('ol_getStakingParams'),
    rpc<string>('eth_blockNumber'),
  ])
  const left = BigInt(set.epoch.nextStartBlock) - BigInt(head) - 1n
  render(
    main,
    h('h1', {}, 'Validators and epochs'),
    h('h2', {}, `Epoch ${num(set.epoch.number)}`),
    fields([
      [
        'Started at block',
        link(`#/block/${BigInt(set.epoch.startBlock)}`, `#${BigInt(set.epoch.startBlock)}`),
      ],
      [
        'Next epoch at block',
        `#${BigInt(set.epoch.nextStartBlock)} (${left > 0n ? left : 0n} blocks from now)`,
      ],
      ['Epoch length', `${num(params.epochLength)} blocks`],
      ['Validator set hash', h('span', { class: 'mono' }, set.epoch.setHash)],
      ['Total bonded', open(set.totalBonded)],
      ['Maximum validators', num(params.maxValidators)],
      ['Unbonding time', `${Number(BigInt(params.unbondingTime)) / 86_400} days`],
    ]),
    h('h2', {}, `Active set for block #${BigInt(set.forBlock)}`),
    table(
      ['Signer (consensus address)', 'Operator', 'Stake', 'Jailed'],
      set.validators.map((v) => [
        h('span', { class: 'mono' }, v.consensusAddress),
        v.operator ? addrLink(v.operator) : '—',
        open(v.tokens),
        v.jailed ? 'yes' : 'no',
      ]),
      'No bonded validator: the chain is sealed by its genesis validators until an epoch bonds some.',
    ),
    h('h2', {}, `All validators (${num(list.total)})`),
    table(
      ['Name', 'Operator', 'Status', 'Stake', 'Self-bond', 'Commission'],
      list.items.map((v) => [
        v.description?.moniker || '—',
        addrLink(v.operator),
        [v.statusName, v.jailed ? (v.tombstoned ? ', tombstoned' : ', jailed') : ''],
        open(v.tokens),
        open(v.selfDelegation),
        `${Number(BigInt(v.commissionBps)) / 100} %`,
      ]),
      'No validator has been created yet (Staking.createValidator).',
    ),
  )
}
