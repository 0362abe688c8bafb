// The coordinator's port held while the ranks start: nobody is served on it, and a rank that dialed it
// early reaches the coordinator once it binds there.
import assert from 'node:assert/strict';
import net from 'node:net';
import { Dealer, Router } from 'zeromq';
import { reservePort } from '../../launch/port-reservation';

describe('launcher: the reserved coordinator port', () => {
  it('drops every connection while held, without a byte', async () => {
    const reservation = await reservePort('127.0.0.1');
    try {
      assert.ok(reservation.port > 0);
      const received = await new Promise<number>((resolve, reject) => {
        let bytes = 0;
        const socket = net.connect(reservation.port, '127.0.0.1');
        socket.on('data', (chunk) => (bytes += chunk.length));
        socket.on('close', () => resolve(bytes));
        socket.on('error', reject);
      });
      assert.equal(received, 0);
    } finally {
      reservation.release();
    }
  });

  it('a DEALER that dialed before the bind is heard once the coordinator binds the released port', async () => {
    const reservation = await reservePort('127.0.0.1');
    const endpoint = `tcp://127.0.0.1:${reservation.port}`;
    const dealer = new Dealer({ reconnectInterval: 20, linger: 0 });
    const router = new Router({ linger: 0 });
    try {
      dealer.connect(endpoint);
      const sent = dealer.send('join');
      // Let it dial the placeholder (and be dropped) before the coordinator exists.
      await new Promise((resolve) => setTimeout(resolve, 60));
      reservation.release();
      reservation.release(); // a second release does nothing
      await router.bind(endpoint);
      await sent;
      const [, message] = await router.receive();
      assert.equal(message.toString(), 'join');
    } finally {
      dealer.close();
      router.close();
    }
  });
});
