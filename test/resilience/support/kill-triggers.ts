import * as fs from 'node:fs';
import * as path from 'node:path';
import type { AsteriskSandbox } from '../../support/asterisk-sandbox';

/**
 * When to SIGKILL the portal during an apply. `random` is a plain timer; the others watch the
 * include directory and the fake's state directory (inotify) and kill the moment a phase is
 * reached, so each phase is hit for certain instead of by luck.
 */
export type Trigger =
  | 'random'
  | 'audit-row' // the apply's audit row is in the database: rendering, nothing written yet
  | 'endpoints-temp' // the endpoints temp file exists: writing, nothing renamed yet
  | 'between-renames' // endpoints renamed into place, routing not yet
  | 'reload' // the fake holds its reload lock: `module reload res_pjsip.so` is running
  | 'verify' // the pjsip reload finished: dialplan reload and the read-back are running
  | 'last-good-temp' // a temp file for the last-good pair exists
  | 'last-good-saved' // the new last-good pair renamed into place, audit row not finished
  | 'after-response'; // the apply answered

export const PHASE_TRIGGERS: Trigger[] = [
  'audit-row',
  'endpoints-temp',
  'between-renames',
  'reload',
  'verify',
  'last-good-temp',
  'last-good-saved',
  'after-response',
];

export interface Armed {
  /** Resolves with a description once the trigger fired (the kill callback has run). */
  fired: Promise<string>;
  disarm(): void;
}

/**
 * Arms `trigger`; `kill` is called at most once. `randomDelayMs` is used by `random`,
 * `verifyDelayMs` by `verify` (time after the pjsip reload to land inside the read-back).
 * `auditRunning` (for `audit-row`) says whether a `running` audit row exists; it is polled
 * back to back, as the window before the first write is a few milliseconds.
 * `responded` must resolve when the apply's response arrived: every trigger falls back to
 * killing then, so a trigger that never matches still ends the cycle.
 */
export function armKill(
  box: AsteriskSandbox,
  trigger: Trigger,
  kill: () => void,
  options: {
    randomDelayMs: number;
    verifyDelayMs: number;
    auditRunning: () => Promise<boolean>;
    responded: Promise<unknown>;
  },
): Armed {
  const watchers: fs.FSWatcher[] = [];
  const timers: NodeJS.Timeout[] = [];
  let resolveFired: (what: string) => void = () => undefined;
  const fired = new Promise<string>((resolve) => {
    resolveFired = resolve;
  });
  let done = false;
  const disarm = (): void => {
    for (const w of watchers) w.close();
    for (const t of timers) clearTimeout(t);
  };
  const fire = (what: string): void => {
    if (done) return;
    done = true;
    kill();
    disarm();
    resolveFired(what);
  };
  const watch = (dir: string, onName: (name: string) => void): void => {
    watchers.push(
      fs.watch(dir, (_event, name) => {
        if (name) onName(name.toString());
      }),
    );
  };

  const endpointsName = path.basename(box.endpointsFile);
  const lastGoodName = '.synergycall-last-good.json';
  switch (trigger) {
    case 'random':
      timers.push(
        setTimeout(() => fire(`random ${options.randomDelayMs} ms`), options.randomDelayMs),
      );
      break;
    case 'audit-row': {
      const poll = async (): Promise<void> => {
        while (!done) {
          if (await options.auditRunning()) fire(trigger);
        }
      };
      // A failed query only ends the polling; the response fallback still ends the cycle.
      void poll().catch(() => undefined);
      break;
    }
    case 'endpoints-temp':
      watch(box.pjsipDir, (name) => {
        if (name.startsWith(`.${endpointsName}.`) && name.endsWith('.tmp')) fire(trigger);
      });
      break;
    case 'between-renames':
      watch(box.pjsipDir, (name) => {
        if (name === endpointsName && fs.existsSync(box.endpointsFile)) fire(trigger);
      });
      break;
    case 'reload':
    case 'verify': {
      const lock = path.join(box.state, 'reload.lock');
      let held = false;
      watch(box.state, (name) => {
        if (name !== 'reload.lock') return;
        if (fs.existsSync(lock)) {
          held = true;
          if (trigger === 'reload') fire(trigger);
        } else if (held && trigger === 'verify') {
          held = false;
          timers.push(setTimeout(() => fire(trigger), options.verifyDelayMs));
        }
      });
      break;
    }
    case 'last-good-temp':
      watch(box.pjsipDir, (name) => {
        if (name.startsWith(`${lastGoodName}.`) && name.endsWith('.tmp')) {
          fire(trigger);
        }
      });
      break;
    case 'last-good-saved':
      watch(box.pjsipDir, (name) => {
        if (name === lastGoodName && fs.existsSync(path.join(box.pjsipDir, name))) fire(trigger);
      });
      break;
    case 'after-response':
      break;
  }
  void options.responded.then(() =>
    fire(
      trigger === 'after-response'
        ? trigger
        : trigger === 'random'
          ? `random ${options.randomDelayMs} ms (answered first)`
          : `${trigger} (answered first)`,
    ),
  );
  return { fired, disarm };
}
