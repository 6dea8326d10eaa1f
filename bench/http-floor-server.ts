/**
 * The HTTP floor for the list: a bare node:http server, in its own process like the portal,
 * answering every request with the bytes the portal sent for the same list.
 * Env: FLOOR_BODY (file with the body), FLOOR_PORT.
 */
import { readFileSync } from 'node:fs';
import * as http from 'node:http';

const body = readFileSync(process.env.FLOOR_BODY ?? '');
const headers = {
  'content-type': 'application/json; charset=utf-8',
  'content-length': String(body.length),
};

http
  .createServer((req, res) => {
    req.resume();
    res.writeHead(200, headers);
    res.end(body);
  })
  .listen(Number(process.env.FLOOR_PORT), '127.0.0.1');

process.on('SIGTERM', () => process.exit(0));
