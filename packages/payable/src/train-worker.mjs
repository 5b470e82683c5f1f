// Worker thread (run from the TypeScript sources) that runs one adapter training off the provider's main thread (so serving keeps
// answering while a ModelFactory job trains). The training code is TypeScript: load tsx's hooks
// in this thread first, as bin/openledger.mjs does for the main one.
import { register } from 'tsx/esm/api'

register()
await import('./train-worker-main.ts')
