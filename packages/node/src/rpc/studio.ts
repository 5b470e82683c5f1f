/**
 * OpenLedger Studio on the RPC port: the app is bundled on the first request for it (a node that
 * nobody opens Studio on never pays for the build, nor loads the bundler), then served from memory.
 */
import type { PageHandler } from '@openledger/rpc'
import type { studioPages } from '@openledger/studio'
import type { Logger } from '../logger.ts'

export interface StudioOptions {
  /** Serve Studio to non-loopback clients too (`--studio.remote`); default loopback only. */
  allowRemote?: boolean
}

export function studioHandler(opts: StudioOptions, log: Logger): PageHandler {
  let pages: Promise<ReturnType<typeof studioPages>> | undefined
  return async (request) => {
    if (request.path !== '/studio' && !request.path.startsWith('/studio/')) return undefined
    pages ??= import('@openledger/studio')
      .then(async ({ buildStudio, studioPages }) => studioPages(await buildStudio(), opts))
      .catch((err: unknown) => {
        pages = undefined // the next request retries
        log.error({ err }, 'studio: building the web app failed')
        throw err
      })
    return (await pages)(request)
  }
}
