/**
 * SwarmProviders on fake DHT records and a fake clock: what one swarm publishes (itself as a
 * provider under the discovery key, once joined; its file names, once complete and only if
 * public), the lookup loop's timing, and stop.
 */
import {
  DHT_LOOKUP_INTERVAL_MS,
  type DiscoveredSwarm,
  discoveryKeyOf,
  LONELY_LOOKUP_MS,
  SwarmProviders,
  type SwarmRecords,
} from '@ringswarm/shared';
import { describe, expect, it } from 'vitest';
import { FakeClock } from '../helpers/fake-clock.js';
import { newPeerId } from '../helpers/fake-link.js';
import { nextMacrotask } from '../helpers/until.js';

const INFO_HASH = 'ef'.repeat(32);
const DISCOVERY_KEY = discoveryKeyOf(INFO_HASH);
/** How the log names the discovery key and the infohash. */
const DK = DISCOVERY_KEY.slice(0, 4);

class FakeRecords implements SwarmRecords {
  joined = true;
  readonly log: string[] = [];
  providers: string[] = [];
  lookups = 0;

  provide(key: string): void {
    this.log.push(`provide ${key.slice(0, 4)}`);
  }
  withdraw(key: string): void {
    this.log.push(`withdraw ${key.slice(0, 4)}`);
  }
  async publishName(name: string, infoHash: string): Promise<void> {
    this.log.push(`name ${name} ${infoHash.slice(0, 4)}`);
  }
  async withdrawName(name: string, infoHash: string): Promise<void> {
    this.log.push(`unname ${name} ${infoHash.slice(0, 4)}`);
  }
  readonly lookedUp: string[] = [];
  async findProviders(key: string): Promise<string[]> {
    this.lookups++;
    this.lookedUp.push(key);
    return this.providers;
  }
}

function setup(listed = true) {
  const clock = new FakeClock();
  const records = new FakeRecords();
  const swarm: { -readonly [K in keyof DiscoveredSwarm]: DiscoveredSwarm[K] } = {
    infoHash: INFO_HASH,
    discoveryKey: DISCOVERY_KEY,
    done: false,
    peerIds: [],
    manifest: null,
  };
  const connected: string[] = [];
  const providers = new SwarmProviders({
    clock,
    records,
    swarm,
    public: listed,
    connect: (id) => connected.push(id),
    warn: () => {},
  });
  return { clock, records, swarm, connected, providers };
}

describe('one swarm on the DHT', () => {
  it('publishes itself only once joined, and (public) its file names once, when complete', () => {
    const { records, swarm, providers } = setup();
    records.joined = false;
    providers.publish();
    expect(records.log).toEqual([]);
    records.joined = true;
    providers.publish();
    swarm.done = true;
    swarm.manifest = { name: 'album', files: [{ path: 'album/a.flac' }, { path: 'album/b.flac' }, { path: 'album' }] };
    providers.publish();
    providers.publish();
    expect(records.log).toEqual([
      `provide ${DK}`,
      `provide ${DK}`,
      'name album efef',
      'name a.flac efef',
      'name b.flac efef',
      `provide ${DK}`,
    ]);
    providers.stop();
    providers.stop();
    expect(records.log.slice(6)).toEqual([
      `withdraw ${DK}`,
      'unname album efef',
      'unname a.flac efef',
      'unname b.flac efef',
    ]);
  });

  it('keeps a private share out of the name records: no publishName, even when complete', () => {
    const { records, swarm, providers } = setup(false);
    swarm.done = true;
    swarm.manifest = { name: 'passport.pdf', files: [{ path: 'passport.pdf' }] };
    providers.publish();
    providers.publish();
    providers.stop();
    expect(records.log).toEqual([`provide ${DK}`, `provide ${DK}`, `withdraw ${DK}`]);
    // Nothing it gives the ring carries the infohash.
    expect(records.log.join(' ')).not.toContain(INFO_HASH.slice(0, 4));
  });

  it('connects to the providers it finds, and looks again sooner while it has no peer', async () => {
    const { clock, records, swarm, connected, providers } = setup();
    const provider = newPeerId();
    records.providers = [provider];
    await providers.lookup();
    expect(connected).toEqual([provider]);
    expect(records.lookedUp).toEqual([DISCOVERY_KEY]);
    clock.advance(LONELY_LOOKUP_MS);
    await nextMacrotask();
    expect(records.lookups).toBe(2);
    swarm.peerIds = [provider];
    clock.advance(LONELY_LOOKUP_MS);
    await nextMacrotask();
    expect(records.lookups).toBe(3);
    // Now it has a peer: the next lookup waits the long interval.
    clock.advance(DHT_LOOKUP_INTERVAL_MS - 1);
    await nextMacrotask();
    expect(records.lookups).toBe(3);
    clock.advance(1);
    await nextMacrotask();
    expect(records.lookups).toBe(4);
    providers.stop();
    expect(clock.pending).toBe(0);
  });

  it('waits for the ring before looking, and stops looking when stopped', async () => {
    const { clock, records, providers } = setup();
    records.joined = false;
    await providers.lookup();
    expect(records.lookups).toBe(0);
    records.joined = true;
    clock.advance(LONELY_LOOKUP_MS);
    await nextMacrotask();
    expect(records.lookups).toBe(1);
    providers.stop();
    clock.advance(10 * DHT_LOOKUP_INTERVAL_MS);
    await nextMacrotask();
    expect(records.lookups).toBe(1);
    expect(clock.pending).toBe(0);
  });
});
