/**
 * @module http/reload-routes
 * POST /-/reload (`admin.tokens`): re-reads the configuration file as SIGHUP does (runtime/relay
 * reloadRelay, the same code and the same log lines). 200 with what changed; an invalid file: 400 with its
 * issues, the running configuration kept; a method that cannot be built: 400, kept too; no config file
 * (the built-in defaults) or no reloader (an embedding without a file): 409.
 */
import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import type { AdminAuthResult } from './admin-auth.ts';
import { ADMIN_ERRORS, ADMIN_SECURITY, ErrorBody, admin, apiApp, errorResponses, jsonResponse, openapiRoute } from './api-kit.ts';
import { errorResponse } from './errors.ts';

/** What a reload did. */
export type ReloadOutcome =
  | {
      readonly kind: 'reloaded';
      readonly methods: { readonly added: readonly string[]; readonly removed: readonly string[]; readonly changed: readonly string[] };
      readonly restartNeeded: readonly string[];
    }
  /** The file did not parse or validate: its issues ("path: message"). */
  | { readonly kind: 'invalid'; readonly issues: readonly string[] }
  /** The file is valid but a method could not be built (the message has no secret of it). */
  | { readonly kind: 'failed'; readonly error: string }
  /** tocsin runs on its built-in defaults: there is no file to read. */
  | { readonly kind: 'no_file' };

export interface ReloadRouteDeps {
  /** Reloads now; undefined while the relay has none (not started by runtime/relay). */
  readonly reload: () => ReloadOutcome | undefined;
  readonly authenticateAdmin: (authorization: string | undefined) => AdminAuthResult;
}

export const INVALID_MESSAGE = 'the configuration file is invalid; keeping the running configuration';

const Reloaded = z
  .object({
    status: z.literal('reloaded'),
    methods: z.object({ added: z.array(z.string()), removed: z.array(z.string()), changed: z.array(z.string()) }),
    restart_needed: z.array(z.string()).openapi({ description: 'settings that changed but take effect only after a restart' }),
  })
  .openapi('ReloadResult');

const Invalid = ErrorBody.extend({ issues: z.array(z.string()).openapi({ description: '"path: message" per problem' }) }).openapi('ReloadRefused');

export function reloadRoutes(deps: ReloadRouteDeps): OpenAPIHono {
  const app = apiApp();
  openapiRoute(
    app,
    createRoute({
      method: 'post',
      path: '/-/reload',
      summary: 'Re-read the configuration file (as SIGHUP)',
      description: 'Methods, routes, sources, lifecycle and admin settings change at once; in-flight deliveries go on. An invalid file changes nothing.',
      tags: ['operations'],
      middleware: [admin(deps.authenticateAdmin)],
      security: ADMIN_SECURITY,
      responses: {
        200: jsonResponse(Reloaded, 'reloaded'),
        400: jsonResponse(Invalid, 'the file is invalid (or a method cannot be built): the running configuration is kept'),
        ...errorResponses(...ADMIN_ERRORS, 409),
      },
    }),
    (c) => {
      const r = deps.reload();
      if (r === undefined || r.kind === 'no_file') {
        return errorResponse(c, 'conflict', 'tocsin runs on its built-in defaults (no config file): nothing to reload');
      }
      if (r.kind === 'invalid') return c.json({ error: INVALID_MESSAGE, code: 'invalid_request' as const, issues: [...r.issues] }, 400);
      if (r.kind === 'failed') {
        return c.json({ error: 'the configuration could not be applied; keeping the running configuration', code: 'invalid_request' as const, issues: [r.error] }, 400);
      }
      return c.json({
        status: 'reloaded' as const,
        methods: { added: [...r.methods.added], removed: [...r.methods.removed], changed: [...r.methods.changed] },
        restart_needed: [...r.restartNeeded],
      });
    },
  );
  return app;
}
