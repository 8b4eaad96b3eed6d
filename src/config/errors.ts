/**
 * @module config/errors
 * The one error a configuration problem raises: every issue is one "<dotted.path>: <message>" line.
 */
export class ConfigError extends Error {
  override name = 'ConfigError';
  readonly issues: string[];
  constructor(issues: string[]) {
    super(issues.join('\n'));
    this.issues = issues;
  }
}
