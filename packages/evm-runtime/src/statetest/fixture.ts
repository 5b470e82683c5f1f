/**
 * Ethereum GeneralStateTests fixtures (ethereum/tests, filled format): one JSON file holds named
 * tests; each has a block `env`, a `pre` state, a `transaction` whose data/gasLimit/value are
 * arrays, and per fork a list of post states, each naming the indexes it was filled with, the
 * expected state root (`hash`), keccak(rlp(logs)) (`logs`) and, for invalid transactions,
 * `expectException`. One post entry is one case.
 */

export interface FixtureAccount {
  balance: string
  nonce: string
  code: string
  storage: Record<string, string>
}

export interface FixtureTx {
  data: string[]
  gasLimit: string[]
  value: string[]
  nonce: string
  to: string
  secretKey: string
  sender?: string
  gasPrice?: string
  maxFeePerGas?: string
  maxPriorityFeePerGas?: string
  accessLists?: Array<Array<{ address: string; storageKeys: string[] }> | null>
  blobVersionedHashes?: string[]
  maxFeePerBlobGas?: string
}

export interface FixtureEnv {
  currentCoinbase: string
  currentDifficulty: string
  currentGasLimit: string
  currentNumber: string
  currentTimestamp: string
  currentBaseFee?: string
  currentRandom?: string
  currentExcessBlobGas?: string
}

export interface FixturePost {
  hash: string
  logs: string
  indexes: { data: number; gas: number; value: number }
  expectException?: string
  txbytes?: string
}

export interface FixtureTest {
  env: FixtureEnv
  pre: Record<string, FixtureAccount>
  transaction: FixtureTx
  post: Record<string, FixturePost[]>
}

/** One case: a (test, fork, post index) triple. `name` is geth's `<test>/<fork>/<index>` form. */
export interface StateTestCase {
  name: string
  test: string
  fork: string
  index: number
  fixture: FixtureTest
  post: FixturePost
}

export class FixtureError extends Error {
  constructor(file: string, detail: string) {
    super(`${file}: ${detail}`)
    this.name = 'FixtureError'
  }
}

/** The cases of one fixture file's JSON, in file order (forks in the order they appear). */
export function fixtureCases(file: string, json: unknown): StateTestCase[] {
  if (typeof json !== 'object' || json === null || Array.isArray(json))
    throw new FixtureError(file, 'expected an object of named state tests')
  const out: StateTestCase[] = []
  for (const [test, t] of Object.entries(json as Record<string, FixtureTest>)) {
    if (
      typeof t !== 'object' ||
      t === null ||
      typeof t.post !== 'object' ||
      typeof t.transaction !== 'object'
    )
      throw new FixtureError(file, `${test}: not a filled state test (needs env, pre, transaction, post)`)
    for (const [fork, posts] of Object.entries(t.post)) {
      posts.forEach((post, index) => {
        out.push({ name: `${test}/${fork}/${index}`, test, fork, index, fixture: t, post })
      })
    }
  }
  return out
}
