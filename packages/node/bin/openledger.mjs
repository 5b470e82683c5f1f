#!/usr/bin/env node
// Entry point of the `openledger` command. Sources are TypeScript, loaded through tsx's ESM hooks.
import { register } from 'tsx/esm/api'

register()
await import('../src/cli/main.ts')
