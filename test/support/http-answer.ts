/**
 * @module test/support/http-answer
 * An HTTP answer read to its end for the tests' assertions: status, headers, the body's text, and that
 * text parsed as JSON when it is JSON.
 */

export interface HttpAnswer {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  /** The body parsed as JSON, or undefined if it is not JSON. */
  readonly json: any;
}

/** Reads `res`'s body to its end; `json` is undefined when the body is not JSON. */
export async function readAnswer(res: Response): Promise<HttpAnswer> {
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}
