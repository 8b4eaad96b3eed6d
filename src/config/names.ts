/**
 * @module config/names
 * The shapes of names used in the config and at runtime (a source's, a method's, a check's) and of UUIDs.
 * Imports nothing: the running relay checks a runtime check's name without loading the config schema.
 */

export const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
/** A UUID in its usual text form (any version; either case). */
export const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
