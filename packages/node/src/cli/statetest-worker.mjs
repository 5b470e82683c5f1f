// Worker thread of `openledger evm statetest --jobs N` (statetest.ts). The sources are TypeScript,
// loaded through tsx's hooks as the `openledger` binary does.
import { register } from 'tsx/esm/api'

register()
await import('./statetest-worker.ts')
