/**
 * Waiting for a release to end: polls `GET …/releases/{n}` and prints each state the release
 * passed through, from its history, so a state reached between two polls is still shown. On a
 * terminal an elapsed-time line is redrawn in place; anywhere else the output stays plain
 * lines, one per state.
 */
import type {ApiClient} from './client';
import {progressLine} from './format';
import {isTerminalState} from '../src/releases/states';
import type {ApiRelease} from './types';

/** Where progress goes. */
export interface ProgressOut {
  write(text: string): void;
  /** On a terminal a status line is redrawn in place; elsewhere output stays plain lines. */
  isTTY?: boolean;
}

/** Options of {@link waitForRelease}. */
export interface WaitOptions {
  timeoutMs: number;
  pollMs?: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

/** The outcome: the last release seen, and whether it reached a terminal state in time. */
export interface WaitResult {
  release: ApiRelease;
  terminal: boolean;
}

const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

/** Prints the history of `start` and every later state until it is terminal or time runs out. */
export async function waitForRelease(client: ApiClient, start: ApiRelease, out: ProgressOut, opts: WaitOptions): Promise<WaitResult> {
  const now = opts.now ?? Date.now;
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const pollMs = opts.pollMs ?? 1000;
  const began = now();
  let printed = 0;
  let release = start;
  let frame = 0;
  let polled = began;
  const show = (r: ApiRelease): void => {
    for (; printed < r.history.length; printed++) {
      if (out.isTTY) out.write('\r\x1b[2K');
      out.write(progressLine(r, r.history[printed]) + '\n');
    }
  };
  show(release);
  while (!isTerminalState(release.state)) {
    if (now() - began >= opts.timeoutMs) {
      if (out.isTTY) out.write('\r\x1b[2K');
      return {release, terminal: false};
    }
    if (out.isTTY) {
      const elapsed = Math.round((now() - began) / 1000);
      out.write(`\r\x1b[2K${SPINNER[frame++ % SPINNER.length]} v${release.release} ${release.state}… ${elapsed}s`);
    }
    // On a terminal the counter ticks faster than the API is polled.
    await sleep(out.isTTY ? Math.min(pollMs, 250) : pollMs);
    if (!out.isTTY || now() - polled >= pollMs) {
      release = await client.getRelease(release.service, release.release);
      polled = now();
      show(release);
    }
  }
  return {release, terminal: true};
}
