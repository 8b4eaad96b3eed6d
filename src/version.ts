/** The release version (kept equal to package.json's by a test). */
export const VERSION = '0.1.0';

// Replaced by `bun build --define` when the binary is built (scripts/build.mjs); absent when running from source.
declare const TOCSIN_BUILD_COMMIT: string | undefined;

/** The git commit the binary was built from ("-dirty" if the work tree had changes), or "source". */
export const COMMIT: string = typeof TOCSIN_BUILD_COMMIT === 'string' ? TOCSIN_BUILD_COMMIT : 'source';
