/**
 * A TCP proxy in front of a test broker that can make the broker "go away" at an exact protocol step: when a client
 * sends a request with a chosen API key (10 = FindCoordinator, 22 = InitProducerId, 24 = AddPartitionsToTxn, 0 =
 * Produce, 26 = EndTxn, 1 = Fetch), every connection is cut before the request reaches the broker, and new ones are
 * refused for `downMs` — a broker restart that begins in the middle of that request, without waiting for a JVM.
 *
 * The broker must advertise the proxy's address (`advertised.listeners`) so that clients reach every broker through it:
 * `behindProxy` rewrites a stopped test broker's `server.properties` that way.
 *
 * @example
 * const proxy = await FaultProxy.start(proxyPort, brokerPort);
 * proxy.cutOn(10, 3_000); // the next FindCoordinator finds the broker gone for 3 s
 * await proxy.close();
 */
import { readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';

/** Kafka API keys the tests cut on. */
export const ApiKey = { Produce: 0, Fetch: 1, FindCoordinator: 10, InitProducerId: 22, AddPartitionsToTxn: 24, EndTxn: 26, TxnOffsetCommit: 28 } as const;

interface Armed {
  readonly apiKey: number;
  readonly downMs: number;
  /** Let the request reach the broker and cut before its answer comes back (the client cannot know it was done). */
  readonly afterForwarding: boolean;
  readonly done: () => void;
}

/** How long a forwarded request is given to be carried out before the cut. */
const FORWARDED_GRACE_MS = 300;

export class FaultProxy {
  private readonly sockets = new Set<net.Socket>();
  private armed: Armed | null = null;
  private coordinatorAwayUntil = 0;
  private downUntil = 0;
  /** How many times a cut happened. */
  cuts = 0;

  private constructor(
    private readonly server: net.Server,
    readonly port: number,
    readonly targetPort: number,
  ) {}

  static async start(port: number, targetPort: number): Promise<FaultProxy> {
    let proxy: FaultProxy | null = null;
    const server = net.createServer((client) => proxy!.accept(client));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    proxy = new FaultProxy(server, port, targetPort);
    return proxy;
  }

  /**
   * Cuts every connection when the next request with `apiKey` arrives and refuses new ones for `downMs`; resolves then.
   * With `afterForwarding` the request reaches the broker first and its answer is lost: e.g. an EndTxn that committed
   * while the producer saw only a dropped connection.
   */
  cutOn(apiKey: number, downMs: number, o: { afterForwarding?: boolean } = {}): Promise<void> {
    return new Promise((resolve) => (this.armed = { apiKey, downMs, afterForwarding: o.afterForwarding ?? false, done: resolve }));
  }

  /**
   * For `ms`, answers every FindCoordinator (versions 0–2) itself with COORDINATOR_NOT_AVAILABLE — what a broker says
   * while it shuts down or, restarted, before it has loaded its coordinator partitions. Resolves when that time is over.
   */
  coordinatorAway(ms: number): Promise<void> {
    this.coordinatorAwayUntil = Date.now() + ms;
    return new Promise((resolve) => setTimeout(resolve, ms));
  }

  /** How many FindCoordinator requests `coordinatorAway` answered. */
  refusedLookups = 0;

  /** Whether a cut is armed and has not happened yet. */
  get isArmed(): boolean {
    return this.armed !== null;
  }

  private accept(client: net.Socket): void {
    if (Date.now() < this.downUntil) {
      client.destroy();
      return;
    }
    const upstream = net.connect(this.targetPort, '127.0.0.1');
    this.sockets.add(client);
    this.sockets.add(upstream);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      this.sockets.delete(client);
      this.sockets.delete(upstream);
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    let answersLost = false;
    upstream.on('data', (d) => {
      if (!answersLost) client.write(d);
    });
    // Requests: int32 size, int16 api key, … — follow the frames to see each request's api key before forwarding it.
    let pending: Buffer = Buffer.alloc(0);
    client.on('data', (d: Buffer) => {
      pending = pending.length === 0 ? d : Buffer.concat([pending, d]);
      let off = 0;
      while (pending.length - off >= 6) {
        const size = pending.readInt32BE(off);
        if (this.armed && pending.readInt16BE(off + 4) === this.armed.apiKey && (!this.armed.afterForwarding || pending.length - off >= 4 + size)) {
          const a = this.armed;
          this.armed = null;
          this.cuts++;
          const through = a.afterForwarding ? off + 4 + size : off;
          if (through > 0) upstream.write(pending.subarray(0, through));
          pending = Buffer.alloc(0);
          const cut = () => {
            this.downUntil = Date.now() + a.downMs;
            for (const s of [...this.sockets]) s.destroy();
            this.sockets.clear();
            setTimeout(a.done, a.downMs);
          };
          if (a.afterForwarding) {
            answersLost = true;
            setTimeout(cut, FORWARDED_GRACE_MS);
          } else {
            cut();
          }
          return;
        }
        if (pending.length - off < 4 + size) break;
        const apiKey = pending.readInt16BE(off + 4);
        const version = pending.readInt16BE(off + 6);
        if (apiKey === ApiKey.FindCoordinator && version <= 2 && Date.now() < this.coordinatorAwayUntil) {
          if (off > 0) upstream.write(pending.subarray(0, off));
          this.refusedLookups++;
          client.write(coordinatorNotAvailable(pending.readInt32BE(off + 8), version));
          pending = pending.subarray(off + 4 + size);
          off = 0;
          continue;
        }
        off += 4 + size;
      }
      if (off > 0) upstream.write(pending.subarray(0, off));
      pending = pending.subarray(off);
    });
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** A FindCoordinator response (v0–v2) with error COORDINATOR_NOT_AVAILABLE (15) for `correlationId`. */
function coordinatorNotAvailable(correlationId: number, version: number): Buffer {
  const body = version === 0 ? Buffer.alloc(2 + 4 + 2 + 4) : Buffer.alloc(4 + 2 + 2 + 4 + 2 + 4);
  let o = 0;
  if (version > 0) o = body.writeInt32BE(0, o); // throttle_time_ms
  o = body.writeInt16BE(15, o); // COORDINATOR_NOT_AVAILABLE
  if (version > 0) o = body.writeInt16BE(-1, o); // error_message: null
  o = body.writeInt32BE(-1, o); // node_id
  o = body.writeInt16BE(0, o); // host: ''
  body.writeInt32BE(-1, o); // port
  const frame = Buffer.alloc(8);
  frame.writeInt32BE(4 + body.length, 0);
  frame.writeInt32BE(correlationId, 4);
  return Buffer.concat([frame, body]);
}

/**
 * Rewrites a stopped test broker's `server.properties` to listen on `brokerPort` while advertising `proxyPort`, so the
 * next `restartBroker` serves clients only through a `FaultProxy` on `proxyPort`.
 *
 * @example
 * await broker.stop(); behindProxy(broker.dir, brokerPort, proxyPort); const proxy = await FaultProxy.start(proxyPort, brokerPort);
 */
export function behindProxy(brokerDir: string, brokerPort: number, proxyPort: number): void {
  const file = join(brokerDir, 'server.properties');
  const props = readFileSync(file, 'utf8')
    .replace(/^listeners=PLAINTEXT:\/\/([^:]+):\d+/m, `listeners=PLAINTEXT://$1:${brokerPort}`)
    .replace(/^advertised\.listeners=PLAINTEXT:\/\/([^:]+):\d+/m, `advertised.listeners=PLAINTEXT://$1:${proxyPort}`);
  writeFileSync(file, props);
}
