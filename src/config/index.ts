/**
 * @module config
 * Load, validate and freeze tocsin's YAML configuration.
 */
export type * from './types.ts';
export { compileMatcher, MatcherError } from './matcher.ts';
export { ConfigError, defaultConfig, parseConfig, type Env, type ReadFile } from './parse.ts';
export { loadConfig, readTextFile } from './load.ts';
export { parseListen } from './schema.ts';
