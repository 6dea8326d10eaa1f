'use strict';
/*
 * Runs the Asterisk CLI for the portal (see cli-process-runner.ts). Forking this small
 * process is cheap; forking the portal itself costs far more and blocks its event loop.
 * In: { id, file, args, options } over the IPC channel. Out: { id, stdout, stderr, exitCode,
 * errno, killed, signal }, execFile's result as plain data.
 */
const { execFile } = require('node:child_process');

process.on('message', (req) => {
  execFile(req.file, req.args, req.options, (err, stdout, stderr) => {
    const code = err ? err.code : 0;
    const reply = {
      id: req.id,
      stdout: String(stdout),
      stderr: String(stderr),
      exitCode: typeof code === 'number' ? code : null,
      errno: typeof code === 'string' ? code : null,
      killed: Boolean(err && err.killed),
      signal: (err && err.signal) || null,
    };
    if (process.connected) process.send(reply);
  });
});

// A closed channel means the portal is gone: nothing is left to answer.
process.on('disconnect', () => process.exit(0));
