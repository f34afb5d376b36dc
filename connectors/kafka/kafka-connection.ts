/**
 * One TCP connection to one Kafka broker: frames requests, matches responses by correlation id (several may be in
 * flight; Kafka answers in order), and fails every pending request when the socket closes.
 *
 * @module
 */
import { Socket, connect } from 'node:net';
import { frameRequest, Reader, type RequestBody } from './kafka-protocol.js';

/** The broker could not be reached, or the connection broke while a request was in flight. */
export class KafkaConnectionError extends Error {
  override readonly name = 'KafkaConnectionError';
}

interface Pending {
  readonly flexible: boolean;
  readonly resolve: (b: Buffer) => void;
  readonly reject: (e: Error) => void;
  readonly timer: NodeJS.Timeout;
}

/**
 * @example
 * const c = await KafkaConnection.open('127.0.0.1', 9092, { clientId: 'sluice', connectTimeoutMs: 5000, requestTimeoutMs: 30000 });
 * const body = await c.send(metadataRequest(['orders']));
 */
export class KafkaConnection {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private chunks: Buffer[] = [];
  private buffered = 0;
  private frame: Buffer | null = null;
  private frameFilled = 0;
  private closedError: Error | null = null;

  private constructor(
    private readonly socket: Socket,
    readonly address: string,
    private readonly clientId: string,
    private readonly requestTimeoutMs: number,
  ) {
    socket.on('data', (d: Buffer) => this.onData(d));
    socket.on('error', (e) => this.fail(new KafkaConnectionError(`Connection to Kafka broker ${address} failed: ${e.message}`)));
    socket.on('close', () => this.fail(new KafkaConnectionError(`Connection to Kafka broker ${address} closed`)));
  }

  static open(host: string, port: number, o: { clientId: string; connectTimeoutMs: number; requestTimeoutMs: number }): Promise<KafkaConnection> {
    const address = `${host}:${port}`;
    return new Promise((resolve, reject) => {
      const socket = connect({ host, port, noDelay: true });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new KafkaConnectionError(`Connecting to Kafka broker ${address} timed out after ${o.connectTimeoutMs} ms`));
      }, o.connectTimeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        resolve(new KafkaConnection(socket, address, o.clientId, o.requestTimeoutMs));
      });
      socket.once('error', (e) => {
        clearTimeout(timer);
        socket.destroy();
        reject(new KafkaConnectionError(`Could not connect to Kafka broker ${address}: ${e.message}`));
      });
    });
  }

  get isOpen(): boolean {
    return this.closedError === null;
  }

  /** Sends a request; resolves with the response body (after the response header). */
  send(req: RequestBody, timeoutMs = this.requestTimeoutMs): Promise<Buffer> {
    if (this.closedError) return Promise.reject(this.closedError);
    const id = this.nextId++ & 0x7fffffff;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.fail(new KafkaConnectionError(`Kafka broker ${this.address} did not answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { flexible: req.flexible, resolve, reject, timer });
      this.socket.write(frameRequest(req, id, this.clientId));
    });
  }

  close(): void {
    this.fail(new KafkaConnectionError(`Connection to Kafka broker ${this.address} closed`));
  }

  private fail(e: Error): void {
    if (this.closedError) return;
    this.closedError = e;
    this.socket.destroy();
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(e);
    }
    this.pending.clear();
  }

  private onData(d: Buffer): void {
    let off = 0;
    while (off < d.length) {
      if (this.frame === null) {
        // Gather the 4-byte size.
        const need = 4 - this.buffered;
        const take = Math.min(need, d.length - off);
        this.chunks.push(d.subarray(off, off + take));
        this.buffered += take;
        off += take;
        if (this.buffered < 4) return;
        const size = Buffer.concat(this.chunks).readInt32BE(0);
        this.chunks = [];
        this.buffered = 0;
        this.frame = Buffer.allocUnsafe(size);
        this.frameFilled = 0;
      }
      const take = Math.min(this.frame.length - this.frameFilled, d.length - off);
      d.copy(this.frame, this.frameFilled, off, off + take);
      this.frameFilled += take;
      off += take;
      if (this.frameFilled === this.frame.length) {
        const f = this.frame;
        this.frame = null;
        this.onFrame(f);
      }
    }
  }

  private onFrame(f: Buffer): void {
    const id = f.readInt32BE(0);
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    clearTimeout(p.timer);
    let start = 4;
    if (p.flexible) {
      const r = new Reader(f, 4);
      r.skipTags();
      start = r.pos;
    }
    p.resolve(f.subarray(start));
  }
}
