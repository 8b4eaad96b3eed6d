/** A config document's problems as ConfigError lines ([] when it parses). */
import { ConfigError, parseConfig, type ReadFile } from '../../src/config/parse.ts';

/** `files`: the only files the document may read (by path); any other read fails like a missing file. */
export function fileReader(files: Readonly<Record<string, string>>): ReadFile {
  return (p) => {
    if (p in files) return files[p]!;
    throw new Error(`ENOENT: no such file or directory, open '${p}'`);
  };
}

export function configIssues(yaml: string, readFile: ReadFile): string[] {
  try {
    parseConfig(yaml, {}, readFile);
    return [];
  } catch (e) {
    if (e instanceof ConfigError) return [...e.issues];
    throw e;
  }
}
