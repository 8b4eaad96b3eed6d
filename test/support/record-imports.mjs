// Node --import hook for tests: appends the URL of every module loaded to the file named by
// $TOCSIN_IMPORT_LOG (one per line), so a test can check what a command loads.
import { register } from 'node:module';

register(new URL('./record-imports-hooks.mjs', import.meta.url), { data: { log: process.env.TOCSIN_IMPORT_LOG } });
