/**
 * Prometheus Alertmanager as a benchmark target: one route to a webhook receiver (the sink), every alert its
 * own group (`group_by: ['...']`) sent at once (`group_wait: 0s`) and never repeated, resolved alerts not
 * sent; loopback only, gossip off, a fresh storage directory.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, spawnTracked, waitHttpOk, type Spawned } from './common.ts';

export const ALERTMANAGER = '/usr/bin/prometheus-alertmanager';

export function alertmanagerConfig(sinkUrl: string): string {
  return [
    'route:',
    '  receiver: sink',
    "  group_by: ['...']",
    '  group_wait: 0s',
    '  group_interval: 1s',
    '  repeat_interval: 1000h',
    'receivers:',
    '  - name: sink',
    '    webhook_configs:',
    `      - url: ${JSON.stringify(sinkUrl)}`,
    '        send_resolved: false',
    '',
  ].join('\n');
}

export function alertmanagerVersion(file: string): string {
  return execFileSync(file, ['--version'], { encoding: 'utf8' }).split('\n')[0]!.trim();
}

/** Starts Alertmanager with its config and storage in `dir` (created); resolves once GET /-/ready answers 200. */
export async function startAlertmanager(file: string, dir: string, sinkUrl: string, timeoutMs: number): Promise<Spawned & { url: string }> {
  mkdirSync(join(dir, 'storage'), { recursive: true });
  const configFile = join(dir, 'alertmanager.yml');
  writeFileSync(configFile, alertmanagerConfig(sinkUrl));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const proc = spawnTracked('alertmanager', file, [
    `--config.file=${configFile}`,
    `--storage.path=${join(dir, 'storage')}`,
    `--web.listen-address=127.0.0.1:${port}`,
    '--cluster.listen-address=',
  ], dir);
  try {
    await waitHttpOk(`${url}/-/ready`, proc, timeoutMs, 'alertmanager');
  } catch (e) {
    await proc.stop(2000);
    throw e;
  }
  return { ...proc, url };
}
