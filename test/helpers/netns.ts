/**
 * A small internet on one machine, built from network namespaces (needs root):
 *
 *   LAN A 192.0.2.0/24           public 203.0.113.0/24            LAN B 198.51.100.0/24
 *   [peer a .2] -- [router a] ==(.10)== [bridge .1: tracker, coturn] ==(.20)== [router b] -- [peer b .2]
 *  ([peer a2 .3])   NAT (MASQUERADE)                 |                      NAT (MASQUERADE)
 *                                        default route to nowhere
 *
 * Each router masquerades its LAN behind its public address and lets in only replies to
 * what went out (conntrack), as a home router does. With `randomFully` a router picks a new
 * random public port for every destination: a symmetric NAT, which hole punching cannot cross.
 * Routers know only the public segment, so the two LANs cannot reach each other directly.
 * With `secondPeerA` a second machine (a2) joins LAN A, on the same switch as peer a.
 * Only documentation address ranges are used; namespace names carry the test's pid.
 */
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const PUBLIC_IP = '203.0.113.1';
export const ROUTER_A_IP = '203.0.113.10';
export const ROUTER_B_IP = '203.0.113.20';
export const PEER_A_IP = '192.0.2.2';
export const PEER_B_IP = '198.51.100.2';
/** The second machine on LAN A (`secondPeerA`). */
export const PEER_A2_IP = '192.0.2.3';

/** Prefix of every namespace these tests create: `<prefix><pid>-<n>-<role>`. */
const PREFIX = 'rsnat';

/**
 * Why the namespace tests cannot run here, or null when they can. `coturn: false` for a
 * test that needs no TURN server (default true).
 */
export function netnsUnavailable(needs: { coturn?: boolean } = {}): string | null {
  if (process.getuid?.() !== 0) {
    return 'needs root (network namespaces, veth pairs, iptables); run as root, as CI does';
  }
  const missing = [
    ['ip', ['-V'], 'iproute2'],
    ['iptables', ['-V'], 'iptables'],
    ...(needs.coturn === false ? [] : [['turnserver', ['--version'], 'coturn']]),
  ].flatMap(([bin, args, pkg]) => {
    const probe = spawnSync(bin as string, args as string[], { stdio: 'ignore' });
    return probe.error ? [`${bin} (apt-get install ${pkg})`] : [];
  });
  return missing.length > 0 ? `missing ${missing.join(', ')}` : null;
}

function run(bin: string, args: string[]): string {
  try {
    return execFileSync(bin, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`${bin} ${args.join(' ')} failed: ${e.stderr?.trim() || e.message}`);
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function listNamespaces(): string[] {
  return run('ip', ['netns', 'list'])
    .split('\n')
    .map((line) => line.split(' ')[0] ?? '')
    .filter((name) => name !== '');
}

/** Ends the processes left in a namespace and deletes it (its veth ends go with it). */
function deleteNamespace(name: string): void {
  const pids = spawnSync('ip', ['netns', 'pids', name], { encoding: 'utf8' }).stdout ?? '';
  for (const pid of pids
    .split('\n')
    .map(Number)
    .filter((p) => p > 0)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  spawnSync('ip', ['netns', 'del', name], { stdio: 'ignore' });
}

/** Deletes namespaces left by earlier runs whose test process no longer exists. */
function sweepStale(): void {
  for (const name of listNamespaces()) {
    const match = new RegExp(`^${PREFIX}(\\d+)-`).exec(name);
    if (match && Number(match[1]) !== process.pid && !alive(Number(match[1]))) deleteNamespace(name);
  }
}

let labCount = 0;
const liveLabs = new Set<NatLab>();
let exitHookInstalled = false;

export interface NatLabOptions {
  /** Router A maps every destination to a new random port (MASQUERADE --random-fully). Default false. */
  randomFullyA?: boolean;
  /** Router B maps every destination to a new random port (MASQUERADE --random-fully). Default false. */
  randomFullyB?: boolean;
  /** A second machine on LAN A ({@link NatLab.lanA2}, {@link PEER_A2_IP}). Default false. */
  secondPeerA?: boolean;
}

export class NatLab {
  readonly pub: string;
  readonly routerA: string;
  readonly routerB: string;
  readonly lanA: string;
  readonly lanB: string;
  /** The second machine on LAN A; its namespace exists only with `secondPeerA`. */
  readonly lanA2: string;
  readonly #secondPeerA: boolean;
  readonly #children = new Set<ChildProcess>();
  #destroyed = false;

  private constructor(id: string, secondPeerA: boolean) {
    this.#secondPeerA = secondPeerA;
    this.lanA2 = `${id}-a2`;
    this.pub = `${id}-pub`;
    this.routerA = `${id}-ra`;
    this.routerB = `${id}-rb`;
    this.lanA = `${id}-a`;
    this.lanB = `${id}-b`;
  }

  get namespaces(): string[] {
    return [this.lanA, ...(this.#secondPeerA ? [this.lanA2] : []), this.lanB, this.routerA, this.routerB, this.pub];
  }

  /** Builds the namespaces, links, addresses, routes and NAT rules. */
  static create(options: NatLabOptions = {}): NatLab {
    sweepStale();
    const lab = new NatLab(`${PREFIX}${process.pid}-${++labCount}`, options.secondPeerA === true);
    liveLabs.add(lab);
    if (!exitHookInstalled) {
      exitHookInstalled = true;
      // Last resort if the test process ends without its afterAll (a crash, a timeout).
      process.once('exit', () => {
        for (const l of liveLabs) l.destroySync();
      });
    }
    try {
      lab.#build(options);
    } catch (err) {
      lab.destroySync();
      throw err;
    }
    return lab;
  }

  #build(options: NatLabOptions): void {
    const ip = (...args: string[]) => run('ip', args);
    const inNs = (ns: string, ...cmd: string[]) => run('ip', ['netns', 'exec', ns, ...cmd]);
    for (const ns of this.namespaces) {
      ip('netns', 'add', ns);
      ip('-n', ns, 'link', 'set', 'lo', 'up');
    }
    // The public segment: a bridge holding the tracker's and coturn's address.
    ip('-n', this.pub, 'link', 'add', 'br0', 'type', 'bridge');
    ip('-n', this.pub, 'addr', 'add', `${PUBLIC_IP}/24`, 'dev', 'br0');
    ip('-n', this.pub, 'link', 'set', 'br0', 'up');
    // The rest of the internet, where packets to private addresses vanish. Without a default
    // route, coturn's sends to a LAN address (a peer's host candidate) fail locally with
    // ENETUNREACH, and coturn then drops the whole allocation; a real server never sees that.
    ip('-n', this.pub, 'link', 'add', 'upstream', 'type', 'veth', 'peer', 'name', 'beyond');
    ip('-n', this.pub, 'link', 'set', 'beyond', 'up');
    ip('-n', this.pub, 'link', 'set', 'upstream', 'up');
    ip('-n', this.pub, 'route', 'add', 'default', 'dev', 'upstream');
    const sides = [
      {
        router: this.routerA,
        hosts: [this.lanA, ...(this.#secondPeerA ? [this.lanA2] : [])],
        wan: ROUTER_A_IP,
        net: '192.0.2',
        tag: 'a',
        random: options.randomFullyA === true,
      },
      {
        router: this.routerB,
        hosts: [this.lanB],
        wan: ROUTER_B_IP,
        net: '198.51.100',
        tag: 'b',
        random: options.randomFullyB === true,
      },
    ];
    for (const s of sides) {
      // router WAN <-> public bridge
      ip('link', 'add', 'wan', 'netns', s.router, 'type', 'veth', 'peer', 'name', `to-${s.tag}`, 'netns', this.pub);
      ip('-n', this.pub, 'link', 'set', `to-${s.tag}`, 'master', 'br0');
      ip('-n', this.pub, 'link', 'set', `to-${s.tag}`, 'up');
      ip('-n', s.router, 'addr', 'add', `${s.wan}/24`, 'dev', 'wan');
      ip('-n', s.router, 'link', 'set', 'wan', 'up');
      // router LAN: a switch (bridge) with the router at .1 and the machines at .2, .3
      ip('-n', s.router, 'link', 'add', 'lan', 'type', 'bridge');
      ip('-n', s.router, 'addr', 'add', `${s.net}.1/24`, 'dev', 'lan');
      ip('-n', s.router, 'link', 'set', 'lan', 'up');
      s.hosts.forEach((host, i) => {
        const port = `port${i}`;
        ip('link', 'add', port, 'netns', s.router, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', host);
        ip('-n', s.router, 'link', 'set', port, 'master', 'lan');
        ip('-n', s.router, 'link', 'set', port, 'up');
        ip('-n', host, 'addr', 'add', `${s.net}.${i + 2}/24`, 'dev', 'eth0');
        ip('-n', host, 'link', 'set', 'eth0', 'up');
        ip('-n', host, 'route', 'add', 'default', 'via', `${s.net}.1`);
      });
      // NAT: masquerade outbound, let in only replies.
      // /proc/sys/net shows the namespace of the writer (no need for procps' sysctl).
      inNs(s.router, 'sh', '-c', 'echo 1 > /proc/sys/net/ipv4/ip_forward');
      const masquerade = ['-t', 'nat', '-A', 'POSTROUTING', '-o', 'wan', '-j', 'MASQUERADE'];
      inNs(s.router, 'iptables', ...masquerade, ...(s.random ? ['--random-fully'] : []));
      inNs(
        s.router,
        'iptables',
        ...['-A', 'FORWARD', '-i', 'wan', '-m', 'conntrack', '--ctstate', 'ESTABLISHED,RELATED', '-j', 'ACCEPT'],
      );
      inNs(s.router, 'iptables', '-A', 'FORWARD', '-i', 'wan', '-j', 'DROP');
      // Unsolicited packets to the router itself are dropped before conntrack records them.
      // Otherwise a peer's early connectivity check would leave an entry on the very public
      // port the router is about to reuse for its own peer, and the router would then pick
      // another port: accidental symmetric behaviour that no home router shows.
      inNs(s.router, 'iptables', '-A', 'INPUT', '-i', 'wan', '-m', 'conntrack', '--ctstate', 'NEW', '-j', 'DROP');
    }
  }

  /** Starts a command inside a namespace; it is killed by {@link destroy}. */
  spawn(ns: string, command: string, args: string[]): ChildProcess {
    if (this.#destroyed) throw new Error('lab destroyed');
    const child = spawn('ip', ['netns', 'exec', ns, command, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.#children.add(child);
    child.once('exit', () => this.#children.delete(child));
    return child;
  }

  /**
   * Writes an executable `<dir>/<name>` that runs `binary` with its arguments inside `ns`.
   * A browser driven over a pipe (Playwright's `executablePath`) then lives in the
   * namespace while the process driving it stays outside; `ip netns exec` execs in place,
   * so the pipe's file descriptors are inherited. The browser is not a child of the lab:
   * {@link destroy} ends it anyway, as every process left in a lab namespace.
   */
  wrapper(ns: string, binary: string, dir: string, name = `in-${ns}`): string {
    if (!this.namespaces.includes(ns)) throw new Error(`${ns} is not a namespace of this lab`);
    if (binary.includes("'")) throw new Error(`cannot quote ${binary} for sh`);
    const path = join(dir, name);
    writeFileSync(path, `#!/bin/sh\nexec ip netns exec '${ns}' '${binary}' "$@"\n`);
    chmodSync(path, 0o755);
    return path;
  }

  /** Runs a command inside a namespace to completion; rejects on a non-zero exit. */
  exec(ns: string, command: string, args: string[], timeoutMs = 15_000): Promise<string> {
    const child = this.spawn(ns, command, args);
    let out = '';
    let err = '';
    child.stdout?.on('data', (c: Buffer) => {
      out += c.toString();
    });
    child.stderr?.on('data', (c: Buffer) => {
      err += c.toString();
    });
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      child.once('exit', (code) => {
        clearTimeout(timer);
        if (code === 0) resolve(out);
        else reject(new Error(`${command} ${args.join(' ')} in ${ns} exited ${code}: ${err}`));
      });
    });
  }

  /** GET a URL from inside a namespace (the test process itself is outside the lab). */
  async fetchJson(ns: string, url: string): Promise<unknown> {
    const script = `fetch(${JSON.stringify(url)}).then((r) => r.text()).then((t) => process.stdout.write(t))`;
    return JSON.parse(await this.exec(ns, process.execPath, ['-e', script]));
  }

  /** Kills every process started in the lab, waits for them, deletes the namespaces. Idempotent. */
  async destroy(): Promise<void> {
    const children = [...this.#children];
    await Promise.all(
      children.map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            child.once('exit', () => resolve());
            child.kill('SIGKILL');
          }),
      ),
    );
    this.destroySync();
  }

  /** Synchronous teardown, also used from the process 'exit' hook. */
  destroySync(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    for (const child of this.#children) {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
    const existing = new Set(listNamespaces());
    for (const ns of this.namespaces) if (existing.has(ns)) deleteNamespace(ns);
    liveLabs.delete(this);
  }
}
