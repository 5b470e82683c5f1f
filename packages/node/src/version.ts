import { readFileSync } from 'node:fs'

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
  version: string
}

export const VERSION = pkg.version
export const CLIENT_VERSION = `OpenLedger/v${VERSION}/${process.platform}-${process.arch}/node${process.versions.node}`
