// The work loop and the command line the Node.js client scripts share (node_redis_worker.js, ioredis_worker.js):
// one write of n (and a read every 20th) every few milliseconds, printing `ok <n>` once acknowledged and
// `err <n> <Type>: <message>` when it fails, until the file --stop exists or --seconds have passed.
const fs = require('fs');

const arg = (name, dflt) => {
  const i = process.argv.indexOf('--' + name);
  return i >= 0 ? process.argv[i + 1] : dflt;
};

const describe = (e) => `${e.constructor.name}: ${String(e.message).replace(/\n/g, ' ')}`;

async function run(write, read) {
  const stopFile = arg('stop');
  const deadline = Date.now() + Number(arg('seconds', '90')) * 1000;
  let n = 0;
  while (Date.now() < deadline && !fs.existsSync(stopFile)) {
    n += 1;
    try {
      await write(String(n));
      if (n % 20 === 0) {
        await read();
      }
      console.log(`ok ${n}`);
    } catch (e) {
      console.log(`err ${n} ${describe(e)}`);
    }
    await new Promise((r) => setTimeout(r, 5));
  }
}

module.exports = { arg, describe, run };
