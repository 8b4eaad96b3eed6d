/**
 * @module cli/check-config-command
 * `tocsin check-config --config FILE`: the file validated as `serve` would read it. A route or canary
 * may name a method created through the admin API (kept in the database, not in the file): such names
 * are looked up in the database of the file's `data_dir` (read only, so it works while tocsin runs);
 * a name found in neither place is an error, as at start.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../config/errors.ts';
import { loadConfig, readTextFile } from '../config/load.ts';
import type { Config } from '../config/types.ts';
import { unresolvedMethodRefs } from '../config/method-refs.ts';
import type { OpenDatabase } from '../outbox/db.ts';

export interface CheckConfigOptions {
  readonly configPath: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The runtime's SQLite opener (loaded only when the file names a method it does not define). */
  readonly openDatabase: () => Promise<(file: string) => OpenDatabase>;
  readonly stdout: (text: string) => void;
}

/** Prints `FILE: ok` and returns 0; an invalid file throws its ConfigError (printed by main, exit 1). */
export async function checkConfig(opts: CheckConfigOptions): Promise<number> {
  let config: Config;
  try {
    config = loadConfig(opts.configPath, opts.env, readTextFile, { externalMethods: true });
  } catch (e) {
    // Invalid anyway: the strict reading lists every problem, unknown methods among them.
    if (e instanceof ConfigError) loadConfig(opts.configPath, opts.env, readTextFile);
    throw e;
  }
  const names = [...new Set(config.externalMethodRefs.map((r) => r.name))];
  if (names.length === 0) {
    opts.stdout(`${opts.configPath}: ok\n`);
    return 0;
  }
  const file = join(config.dataDir, 'tocsin.db'); // as app/open-outbox's databaseFile
  const stored = existsSync(file) ? (await import('./stored-methods.ts')).storedMethodNames(await opts.openDatabase(), file) : [];
  const missing = unresolvedMethodRefs(config, Object.fromEntries(stored.map((n) => [n, true])));
  if (missing.length > 0) {
    const where = existsSync(file) ? `the database ${file} has no such method` : `there is no database at ${file} yet`;
    throw new ConfigError(missing.map((m) => `${m} (${where})`));
  }
  opts.stdout(`${opts.configPath}: ok (methods created through the admin API, found in ${file}: ${names.join(', ')})\n`);
  return 0;
}
