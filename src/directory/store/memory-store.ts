/** The default store: the online list in this process's memory. */
import { ERROR_CODES, NatterError } from '../../errors.ts';
import {
  claimKey,
  DEFAULT_PORT_RANGE,
  type DirectoryStore,
  type OwnerNotice,
  type PeerRecord,
  type PortRange,
  type RegisterRequest,
  type RegisterResult,
} from './store.ts';

export class MemoryDirectoryStore implements DirectoryStore {
  /** Only this process uses it: every owner is a session here. */
  readonly isShared = false;
  readonly #range: PortRange;
  readonly #byName = new Map<string, PeerRecord>();
  /** Ports in use, per IP: a lone port as a number (the common case, kept small), several as a Set. */
  readonly #byIp = new Map<string, number | Set<number>>();
  /**
   * Where the next search for a free port starts, shared by all IPs: ports are
   * handed out round-robin, so one just released (say, busy on its host) is not
   * handed straight back.
   */
  #cursor: number;
  #generation = 0;
  /** The directory key the store is bound to (claimIdentity). */
  #identity: string | undefined;
  readonly #shutdownListeners: ((reason: string) => void)[] = [];
  readonly #noticeListeners: ((owner: string, notice: OwnerNotice) => void)[] = [];

  constructor(options: { portRange?: PortRange } = {}) {
    this.#range = checkRange(options.portRange ?? DEFAULT_PORT_RANGE);
    this.#cursor = this.#range.lo;
  }

  async register(req: RegisterRequest): Promise<RegisterResult> {
    return this.registerNow(req);
  }

  registerNow(req: RegisterRequest): RegisterResult {
    const existing = this.#byName.get(req.name);
    let previousOwner: string | undefined;
    if (existing !== undefined) {
      if (existing.key !== req.key) return { ok: false, reason: 'name-taken' };
      if (existing.owner === req.owner) {
        existing.lastHeard = req.now;
        return { ok: true, record: existing, isNew: false };
      }
      // The same key from a new session: the peer came back before its old connection was gone.
      previousOwner = existing.owner;
      this.#delete(existing);
    }
    const port = this.#allocate(req.ip, req.requestedPort);
    if (port === undefined) return { ok: false, reason: 'ports-exhausted' };
    const record: PeerRecord = {
      name: req.name,
      ip: req.ip,
      port,
      owner: req.owner,
      key: req.key,
      registeredAt: req.now,
      lastHeard: req.now,
      ...(req.seenIp === undefined ? {} : { seenIp: req.seenIp, seenPort: req.seenPort ?? 0 }),
    };
    this.#byName.set(req.name, record);
    this.#generation++;
    return previousOwner === undefined ? { ok: true, record, isNew: true } : { ok: true, record, isNew: false, previousOwner };
  }

  async refresh(name: string, owner: string, now: number): Promise<PeerRecord | undefined> {
    return this.refreshNow(name, owner, now);
  }

  refreshNow(name: string, owner: string, now: number): PeerRecord | undefined {
    const record = this.#byName.get(name);
    if (record === undefined || record.owner !== owner) return undefined;
    record.lastHeard = now;
    return record;
  }

  async remove(name: string, owner: string): Promise<boolean> {
    const record = this.#byName.get(name);
    if (record === undefined || record.owner !== owner) return false;
    this.#delete(record);
    return true;
  }

  async list(): Promise<PeerRecord[]> {
    // Copied synchronously: nothing can change the map while this runs.
    return Array.from(this.#byName.values(), (r) => ({ ...r }));
  }

  async expire(cutoff: number): Promise<PeerRecord[]> {
    const gone: PeerRecord[] = [];
    for (const record of this.#byName.values()) {
      if (record.lastHeard < cutoff) gone.push(record);
    }
    for (const record of gone) this.#delete(record);
    return gone;
  }

  async generation(): Promise<number> {
    return this.#generation;
  }

  async size(): Promise<number> {
    return this.#byName.size;
  }

  async claimIdentity(key: string): Promise<void> {
    this.#identity = claimKey(this.#identity, key);
  }

  async announceShutdown(reason: string): Promise<void> {
    // Only this process shares the store: its own listeners are everyone.
    for (const listener of this.#shutdownListeners.splice(0)) queueMicrotask(() => listener(reason));
  }

  onShutdown(listener: (reason: string) => void): void {
    this.#shutdownListeners.push(listener);
  }

  async tell(owner: string, notice: OwnerNotice): Promise<void> {
    // Every owner is here: straight to the listeners.
    for (const listener of this.#noticeListeners) queueMicrotask(() => listener(owner, notice));
  }

  onNotice(listener: (owner: string, notice: OwnerNotice) => void): void {
    this.#noticeListeners.push(listener);
  }

  async close(): Promise<void> {
    this.#byName.clear();
    this.#byIp.clear();
    this.#shutdownListeners.length = 0;
    this.#noticeListeners.length = 0;
  }

  #delete(record: PeerRecord): void {
    this.#byName.delete(record.name);
    this.#generation++;
    const used = this.#byIp.get(record.ip);
    if (typeof used === 'number') {
      if (used === record.port) this.#byIp.delete(record.ip);
      return;
    }
    used?.delete(record.port);
    if (used?.size === 0) this.#byIp.delete(record.ip);
  }

  /**
   * A free port at `ip`: the requested one if it is free (in the range or
   * not: the peer chose it), else the next free one in the range after the
   * cursor.
   */
  #allocate(ip: string, requested: number): number | undefined {
    const used = this.#byIp.get(ip);
    const isUsed = (port: number): boolean => (typeof used === 'number' ? used === port : used?.has(port) === true);
    let port: number | undefined;
    if (requested !== 0 && !isUsed(requested)) {
      port = requested;
    } else {
      const { lo, hi } = this.#range;
      const span = hi - lo + 1;
      for (let i = 0; i < span && port === undefined; i++) {
        const candidate = lo + ((this.#cursor - lo + i) % span);
        if (!isUsed(candidate)) port = candidate;
      }
      if (port === undefined) return undefined;
      this.#cursor = port === hi ? lo : port + 1;
    }
    if (used === undefined) this.#byIp.set(ip, port);
    else if (typeof used === 'number') this.#byIp.set(ip, new Set([used, port]));
    else used.add(port);
    return port;
  }
}

export function checkRange(range: PortRange): PortRange {
  const ok = (p: number) => Number.isInteger(p) && p >= 1 && p <= 65_535;
  if (!ok(range.lo) || !ok(range.hi) || range.lo > range.hi) {
    throw new NatterError(
      ERROR_CODES.INVALID_ARGUMENT,
      `port range must be LO-HI with 1 <= LO <= HI <= 65535, got ${range.lo}-${range.hi}`,
    );
  }
  return range;
}
