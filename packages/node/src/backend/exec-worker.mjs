// Worker thread of ExecPool (exec-pool.ts): eth_call, eth_estimateGas and traces off the node's
// main thread. The sources are TypeScript, loaded through tsx's hooks as the `openledger` binary does.
import { register } from 'tsx/esm/api'

register()
await import('./exec-worker.ts')
