// Start-up probe for `npm run bench:startup`: the joule counterpart of mpi_init_barrier.c.
const joule = require('../../dist/src/index.js');

(async () => {
  const world = await joule.init();
  await world.barrier();
  await world.finalize();
})();
