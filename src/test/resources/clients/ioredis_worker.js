// Ordinary work through a Skep write port with ioredis 5 (npm; .ci/install-node-clients), for ClientLibrariesIT.
// Appends a counter to the list log:ioredis (RPUSH) and reads it back now and then, one request every few
// milliseconds, with one client for the whole run (ioredis reconnects by itself, and re-sends the commands it had
// in flight). Prints `ok <n>` once RPUSH of n is acknowledged, `err <n> <Type>: <message>` when a request fails.
// Stops when the file --stop exists, or after --seconds.
const fs = require('fs');
const Redis = require('ioredis');

const arg = (name, dflt) => {
  const i = process.argv.indexOf('--' + name);
  return i >= 0 ? process.argv[i + 1] : dflt;
};
const port = Number(arg('port'));
const stopFile = arg('stop');
const seconds = Number(arg('seconds', '90'));

async function main() {
  const client = new Redis({ host: '127.0.0.1', port, retryStrategy: (times) => Math.min(times * 50, 500) });
  client.on('error', (e) => console.log(`event-error ${e.constructor.name}: ${String(e.message).replace(/\n/g, ' ')}`));
  const deadline = Date.now() + seconds * 1000;
  let n = 0;
  while (Date.now() < deadline && !fs.existsSync(stopFile)) {
    n += 1;
    try {
      await client.rpush('log:ioredis', String(n));
      if (n % 20 === 0) {
        await client.lrange('log:ioredis', -5, -1);
      }
      console.log(`ok ${n}`);
    } catch (e) {
      console.log(`err ${n} ${e.constructor.name}: ${String(e.message).replace(/\n/g, ' ')}`);
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  client.disconnect();
}

main().then(() => process.exit(0), (e) => { console.log(`fatal ${e}`); process.exit(1); });
