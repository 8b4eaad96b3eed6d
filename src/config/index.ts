/**
 * @module config
 * Load, validate and freeze tocsin's YAML configuration.
 */
export type * from './types.ts';
export { compileMatcher, MatcherError } from './matcher.ts';
export { ConfigError } from './errors.ts';
export { defaultConfig } from './defaults.ts';
export { parseConfig, type Env, type ReadFile } from './parse.ts';
export { loadConfig, readTextFile } from './load.ts';
export { parseListen } from './listen.ts';
