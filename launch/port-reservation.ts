// The coordinator's port, held before the coordinator exists: the launcher starts the ranks first and loads
// and binds the coordinator (ZeroMQ, the run journal) while they boot. Ranks dial the port as usual; ZeroMQ
// keeps reconnecting until the coordinator listens on it.
import net from 'node:net';

export interface PortReservation {
  port: number;
  /** Stops holding the port: call it just before the coordinator binds it (again: no effect). */
  release(): void;
}

/** Listens on `host`, any free port, and drops every connection: nobody is answered before the coordinator binds. */
export function reservePort(host: string): Promise<PortReservation> {
  return new Promise((resolve, reject) => {
    const server = net.createServer((socket) => socket.destroy());
    server.once('error', reject);
    server.listen({ host, port: 0, exclusive: true }, () => {
      const { port } = server.address() as net.AddressInfo;
      // close() gives up the listening socket at once; it would wait only for connections, and there are none.
      resolve({ port, release: () => server.listening && server.close() });
    });
  });
}
