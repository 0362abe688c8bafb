// The smallest joule program: every rank joins, shares its host through the key-value store, meets the
// others at a barrier and leaves. Run: `npx joule launch -n 4 -- node examples/hello.js`.
const joule = require('..'); // `require('joule')` in a project that depends on joule

async function main() {
  const world = await joule.init();
  await world.kv.set(`host/${world.rank}`, world.host);
  const right = (world.rank + 1) % world.size;
  const neighbour = await world.kv.wait(`host/${right}`, 30_000);
  world.setActivity('hello barrier');
  await world.barrier('hello');
  world.log(`rank ${world.rank} of ${world.size} on ${world.host} (local rank ${world.localRank}, GPUs ${world.gpuBinding}); rank ${right} runs on ${neighbour}`);
  world.metrics.record({ name: 'hello', value: 1 });
  await world.finalize();
}

main().catch((error) => {
  console.error(`rank failed: ${error.code ?? ''} ${error.message}`);
  process.exit(1);
});
