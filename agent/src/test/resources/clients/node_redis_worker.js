// Ordinary work through a Skep write port with node-redis 5 (npm; .ci/install-node-clients), in RESP2 or RESP3
// (--resp), for ClientLibrariesIT: appends a counter to the list log:node-redis-resp<N> with one client for the
// whole run (node-redis reconnects by itself); the loop and its output are work_loop.js's.
const { createClient } = require('redis');
const { arg, describe, run } = require('./work_loop');

const resp = Number(arg('resp', '2'));
const key = 'log:node-redis-resp' + resp;

async function main() {
  const client = createClient({
    RESP: resp,
    socket: { host: '127.0.0.1', port: Number(arg('port')), reconnectStrategy: (retries) => Math.min(retries * 50, 500) },
  });
  client.on('error', (e) => console.log(`event-error ${describe(e)}`));
  await client.connect();
  await run((v) => client.rPush(key, v), () => client.lRange(key, -5, -1));
  client.destroy();
}

main().then(() => process.exit(0), (e) => { console.log(`fatal ${e}`); process.exit(1); });
