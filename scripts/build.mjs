#!/usr/bin/env node
// Builds the single executable with `bun build --compile` (bun is a pinned devDependency):
//   node scripts/build.mjs                       dist/tocsin (linux-x64, glibc)
//   node scripts/build.mjs --target linux-arm64  dist/tocsin-linux-arm64
//   (also: linux-x64-baseline for x86-64 CPUs without AVX2, linux-x64-musl, all)
// Every artifact gets a `<file>.sha256` in sha256sum's format. The binary embeds the whole program
// (migrations included) and does not read .env or bunfig.toml from the directory it is started in.
// The program is split into chunks at the modules the CLI and the relay import on demand (LAZY), so a
// chunk's code is loaded only when it is used: `--version` loads the CLI alone, and `serve` loads the
// relay's app (HTTP app, database, metrics) only after the listener is up.
// Cross-compiling fetches Bun's runtime for that target from the npm registry (@oven/bun-<target>).
import { spawnSync, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const BUN = join(ROOT, 'node_modules', '.bin', 'bun');

/** Modules imported with import(): each starts a chunk of its own (see src/main.ts, src/serve.ts, src/runtime/relay.ts). */
const LAZY = ['src/serve.ts', 'src/config/load.ts', 'src/app.ts', 'src/runtime/threads.ts', 'src/canary/status-command.ts', 'src/cli/silence-command.ts', 'src/cli/check-command.ts', 'src/config/match.ts'];
/** Started as threads (see src/runtime/threads.ts). */
const THREADS = ['src/runtime/delivery-worker.ts'];

/** Our name → Bun's --target and the output file. */
export const TARGETS = {
  'linux-x64': { bun: 'bun-linux-x64', out: 'dist/tocsin' },
  // For x86-64 CPUs without AVX2 (before Haswell, or VMs with a conservative CPU model).
  'linux-x64-baseline': { bun: 'bun-linux-x64-baseline', out: 'dist/tocsin-linux-x64-baseline' },
  'linux-arm64': { bun: 'bun-linux-arm64', out: 'dist/tocsin-linux-arm64' },
  'linux-x64-musl': { bun: 'bun-linux-x64-musl', out: 'dist/tocsin-linux-x64-musl' },
};

function gitCommit() {
  try {
    const sha = execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: ROOT, encoding: 'utf8' }).trim() !== '';
    return dirty ? `${sha}-dirty` : sha;
  } catch {
    return 'unknown';
  }
}

export function build(target = 'linux-x64') {
  const t = TARGETS[target];
  if (!t) throw new Error(`unknown target "${target}"; one of: ${Object.keys(TARGETS).join(', ')}, all`);
  const out = join(ROOT, t.out);
  mkdirSync(dirname(out), { recursive: true });
  const args = [
    'build', 'src/main.ts', ...LAZY, ...THREADS,
    '--compile', '--splitting', `--target=${t.bun}`,
    '--minify', '--bytecode', '--format=esm',
    '--no-compile-autoload-dotenv', '--no-compile-autoload-bunfig',
    '--define', `TOCSIN_BUILD_COMMIT=${JSON.stringify(gitCommit())}`,
    '--outfile', out,
  ];
  const r = spawnSync(BUN, args, { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.error) throw new Error(`could not run ${BUN} (npm ci installs it): ${r.error.message}`);
  if (r.status !== 0) throw new Error(`bun build for ${target} failed with exit code ${r.status}`);
  const sum = createHash('sha256').update(readFileSync(out)).digest('hex');
  writeFileSync(`${out}.sha256`, `${sum}  ${basename(out)}\n`);
  return { target, file: out, sha256: sum };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const i = process.argv.indexOf('--target');
  const wanted = i >= 0 ? process.argv[i + 1] : 'linux-x64';
  const targets = wanted === 'all' ? Object.keys(TARGETS) : [wanted];
  try {
    for (const target of targets) {
      const { file, sha256 } = build(target);
      console.log(`${target}: ${file.slice(ROOT.length + 1)}  sha256 ${sha256}`);
    }
  } catch (e) {
    console.error(`build: ${e.message}`);
    process.exit(1);
  }
}
