/**
 * @module config/method-refs
 * A file's routes and canaries may name methods it does not define (created through the admin API):
 * parsed with `externalMethods`, those names wait in `externalMethodRefs` until the methods known
 * elsewhere are; then each must be one of them. Pure, and light: `tocsin check-config` loads it.
 */
import type { Config } from './types.ts';

/**
 * The config's references to methods that are neither in it nor among `runtime`, as config issue lines
 * ("routes[1].methods[0]: unknown method \"x\"; ..."); empty when every one is defined.
 */
export function unresolvedMethodRefs(config: Config, runtime: Readonly<Record<string, unknown>>): string[] {
  return config.externalMethodRefs
    .filter((r) => !Object.hasOwn(config.methods, r.name) && !Object.hasOwn(runtime, r.name))
    .map((r) => `${r.path}: unknown method ${JSON.stringify(r.name)}; define it under methods or create it with \`tocsin methods add\``);
}
