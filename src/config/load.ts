/**
 * @module config/load
 * Read the config file (if any) and parse it.
 */
import { readFileSync } from 'node:fs';
import { defaultConfig } from './defaults.ts';
import { ConfigError, describeReadError, parseConfig, type Env, type ReadFile } from './parse.ts';
import type { Config } from './types.ts';

export const readTextFile: ReadFile = (path) => readFileSync(path, 'utf8');

/** No path → defaultConfig(). A file that cannot be read → ConfigError "config: cannot read <path>: <reason>". */
export function loadConfig(path: string | undefined, env: Env = process.env, readFile: ReadFile = readTextFile): Config {
  if (path === undefined) return defaultConfig();
  let text: string;
  try {
    text = readFile(path);
  } catch (e) {
    throw new ConfigError([`config: cannot read ${path}: ${describeReadError(e)}`]);
  }
  return parseConfig(text, env, readFile);
}
