import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeOpenError, type PathProbe } from './open-errors.ts';

/** A file system of the given paths ("/x/" a directory, "/x" a file) and the writable ones. */
function fs(paths: Record<string, 'dir' | 'file'>, writable: string[], free = 1 << 30): PathProbe {
  return { kind: (p) => paths[p], writable: (p) => writable.includes(p), uid: () => 1000, free: () => free };
}
const driver = new Error('unable to open database file');

test('the cause an operator can act on, naming the path', () => {
  const cases: [PathProbe, string][] = [
    [fs({ '/': 'dir', '/srv': 'dir', '/srv/data': 'dir' }, ['/srv']), 'directory /srv/data is not writable by uid 1000'],
    [fs({ '/': 'dir', '/srv': 'dir', '/srv/data': 'dir', '/srv/data/tocsin.db': 'file' }, ['/srv/data']), 'the file is not writable by uid 1000'],
    [fs({ '/': 'dir', '/srv': 'dir' }, []), 'directory /srv/data does not exist and /srv is not writable by uid 1000'],
    [fs({ '/': 'dir', '/srv': 'file' }, ['/']), '/srv is a file, not a directory'],
    [fs({ '/': 'dir', '/srv': 'dir', '/srv/data': 'dir', '/srv/data/tocsin.db': 'dir' }, ['/srv/data']), 'it is a directory'],
    [fs({ '/': 'dir', '/srv': 'dir', '/srv/data': 'dir', '/srv/data/tocsin.db': 'file' }, ['/srv/data', '/srv/data/tocsin.db'], 0), 'the disk is full (no space left on the file system of /srv/data)'],
    // Nothing to blame on the file system: the driver's words.
    [fs({ '/': 'dir', '/srv': 'dir', '/srv/data': 'dir' }, ['/srv/data']), 'unable to open database file'],
  ];
  for (const [probe, cause] of cases) {
    assert.equal(describeOpenError('/srv/data/tocsin.db', driver, probe).message, `cannot open /srv/data/tocsin.db: ${cause}`);
  }
});
