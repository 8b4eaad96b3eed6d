/**
 * @module config/listen
 * The listen address format, shared by the config file and the --listen flag (no schema needed).
 */
export const LISTEN_MSG = 'must be host:port, e.g. 127.0.0.1:9095';

/** "host:port" or "[ipv6]:port" → { host, port }, or the error message. */
export function parseListen(v: string): { host: string; port: number } | string {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^\s:[\]]+)):(\d{1,5})$/.exec(v);
  const port = m ? Number(m[3]) : NaN;
  if (m && port <= 65535) return { host: (m[1] ?? m[2])!, port };
  return m ? 'port must be between 0 and 65535' : LISTEN_MSG;
}
