// Ordinary work through a Skep write port with ioredis 5 (npm; .ci/install-node-clients), for ClientLibrariesIT:
// appends a counter to the list log:ioredis with one client for the whole run (ioredis reconnects by itself, and
// re-sends the commands it had in flight); the loop and its output are work_loop.js's.
const Redis = require('ioredis');
const { arg, describe, run } = require('./work_loop');

async function main() {
  const client = new Redis({ host: '127.0.0.1', port: Number(arg('port')), retryStrategy: (times) => Math.min(times * 50, 500) });
  client.on('error', (e) => console.log(`event-error ${describe(e)}`));
  await run((v) => client.rpush('log:ioredis', v), () => client.lrange('log:ioredis', -5, -1));
  client.disconnect();
}

main().then(() => process.exit(0), (e) => { console.log(`fatal ${e}`); process.exit(1); });
