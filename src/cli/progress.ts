/**
 * @module cli/progress
 * The progress of a long operation (replaying or discarding thousands of dead letters, page by page) on
 * stderr, so stdout stays the result: on a terminal one bar redrawn in place ("[#####-----] replayed
 * 1200/5000"), elsewhere (a pipe, a log file) one plain line per page.
 */

/** Characters of the bar between the brackets. */
export const BAR_WIDTH = 30;

export interface ProgressTarget {
  readonly write: (text: string) => void;
  /** Whether the target is a terminal (stderr.isTTY). */
  readonly isTTY: boolean;
}

export interface Progress {
  /** `done` of `total` are through (total may grow: more matched while it ran). */
  update(done: number, total: number): void;
  /** Ends the bar's line (nothing on a non-terminal; nothing if nothing was drawn). */
  finish(): void;
}

/** "[###-------] replayed 1200/5000". */
export function progressLine(verb: string, done: number, total: number, width = BAR_WIDTH): string {
  const shown = Math.max(total, done);
  const filled = shown === 0 ? width : Math.min(width, Math.floor((done / shown) * width));
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${verb} ${done}/${shown}`;
}

/** A progress display for `verb` ("replayed", "discarded") on the target. */
export function createProgress(verb: string, target: ProgressTarget): Progress {
  let drawn = false;
  return {
    update(done, total) {
      if (target.isTTY) {
        target.write(`\r\x1b[2K${progressLine(verb, done, total)}`);
        drawn = true;
      } else {
        target.write(`${verb} ${done}/${Math.max(total, done)}\n`);
      }
    },
    finish() {
      if (drawn) target.write('\n');
      drawn = false;
    },
  };
}
