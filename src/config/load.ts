/**
 * @module config/load
 * Read the config file (if any) and parse it.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { defaultConfig } from './defaults.ts';
import { ConfigError, describeReadError, parseConfig, type Env, type ParseOptions, type ReadFile } from './parse.ts';
import type { Config } from './types.ts';

export const readTextFile: ReadFile = (path) => readFileSync(path, 'utf8');

/**
 * No path → defaultConfig(). A file that cannot be read → ConfigError "config: cannot read <path>: <reason>".
 * Relative paths in the file resolve against the file's directory (on every reload as well: SIGHUP loads
 * the file again through here). `options`: see parseConfig (`externalMethods`).
 */
export function loadConfig(path: string | undefined, env: Env = process.env, readFile: ReadFile = readTextFile, options: ParseOptions = {}): Config {
  if (path === undefined) return defaultConfig();
  let text: string;
  try {
    text = readFile(path);
  } catch (e) {
    throw new ConfigError([`config: cannot read ${path}: ${describeReadError(e)}`]);
  }
  return parseConfig(text, env, readFile, dirname(resolve(path)), options);
}
