/**
 * `npm run sim`: the Chord ring on a simulated network, held to the Chord paper's figures.
 *
 *   --scenario hops|failure|repair|churn|maintenance|overlay   (default hops)
 *   --nodes N     ring size (hops: all of 2^3..2^14 and 10^4 when omitted; churn 1000;
 *                 overlay: 10^2, 10^3 and 10^4 when omitted; others 10^4)
 *   --r R         successor-list length (failure/repair: 2 * ceil(log2 N); others 8)
 *   --seed S      PRNG seed (default 1)
 *   --lookups L   lookups per measurement (default 10^4)
 *   --loss P      message loss probability (default 0.001)
 *   --minutes M   maintenance: minutes measured (default 10); churn: minutes of churn (default 60);
 *                 overlay: minutes counted after two of warm-up (default 5)
 *   --sessions exponential|pareto   churn: session-time model (default: both, one row each)
 *   --tab-role auto|member   overlay: tabs attach as leaves where the ring has room (auto,
 *                 as the page runs), or are all members (default auto)
 *   --max-leaves N   overlay: leaves a member takes (default the overlay's)
 *   --json        print only the JSON line
 *
 * `overlay` runs the real net/ overlay (link pool, routed lookups, DHT) on a simulated link
 * layer with tab churn (overlay-net.ts, overlay-scenario.ts); the others run the pure Chord
 * core on a network where any node reaches any other.
 *
 * Prints a table, then, last, one JSON line with the scenario's figures and wall_s.
 */
import { parseArgs } from 'node:util';
import { type OverlayRow, overlayScenario, overlayTargetsMet, overlayTargetsMissed } from './overlay-scenario.js';
import {
  churnScenario,
  failureR,
  failureScenario,
  hopsScenario,
  maintenanceScenario,
  type SessionModel,
} from './scenarios.js';

/** Bad arguments: say what is wrong and exit 2, without a stack trace. */
function usage(message: string): never {
  process.stderr.write(`sim: ${message}\nsee the comment at the top of test/sim/sim.ts for the flags\n`);
  process.exit(2);
}

const SCENARIOS = ['hops', 'failure', 'repair', 'churn', 'maintenance', 'overlay'];

let parsed: ReturnType<typeof parseArgs<typeof argsConfig>>;
const argsConfig = {
  options: {
    scenario: { type: 'string', default: 'hops' },
    nodes: { type: 'string' },
    r: { type: 'string' },
    seed: { type: 'string', default: '1' },
    lookups: { type: 'string', default: '10000' },
    loss: { type: 'string', default: '0.001' },
    minutes: { type: 'string' },
    sessions: { type: 'string' },
    'tab-role': { type: 'string', default: 'auto' },
    'max-leaves': { type: 'string' },
    json: { type: 'boolean', default: false },
  },
} as const;
try {
  parsed = parseArgs(argsConfig);
} catch (err) {
  usage((err as Error).message);
}
const { values } = parsed;

const int = (name: string, v: string | undefined): number | undefined => {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) usage(`--${name} must be a non-negative integer, got ${v}`);
  return n;
};

const scenario = values.scenario;
const tabRole = values['tab-role'];
if (tabRole !== 'auto' && tabRole !== 'member') usage(`--tab-role must be auto or member, got ${tabRole}`);
if (!SCENARIOS.includes(scenario)) usage(`unknown --scenario ${scenario} (${SCENARIOS.join('|')})`);
const nodesFlag = int('nodes', values.nodes);
const rFlag = int('r', values.r);
const seed = int('seed', values.seed) ?? 1;
const lookups = int('lookups', values.lookups) ?? 10_000;
const minutesFlag = int('minutes', values.minutes);
const loss = Number(values.loss);
if (!(loss >= 0 && loss < 1)) usage('--loss must be in [0, 1)');

function table(rows: Record<string, unknown>[]): string {
  if (rows.length === 0) return '';
  const cols = Object.keys(rows[0]!);
  const cells = rows.map((r) => cols.map((c) => String(r[c] ?? '')));
  const width = cols.map((c, i) => Math.max(c.length, ...cells.map((r) => r[i]!.length)));
  const line = (parts: string[]) => parts.map((p, i) => p.padStart(width[i]!)).join('  ');
  return [line(cols), line(width.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n');
}

const started = performance.now();
let rows: Record<string, unknown>[];
let summary: Record<string, unknown>;

switch (scenario) {
  case 'hops': {
    const sizes =
      nodesFlag !== undefined ? [nodesFlag] : [...Array.from({ length: 12 }, (_, i) => 2 ** (i + 3)), 10_000];
    const r = rFlag ?? 8;
    const results = sizes.map((nodes) => {
      const row = hopsScenario({ nodes, r, seed, lookups, loss });
      return { ...row, target_met: row.mean_hops <= row.target_mean_hops };
    });
    rows = results;
    const one = results[0]!;
    summary =
      nodesFlag !== undefined
        ? { scenario, nodes: one.nodes, r, mean_hops: one.mean_hops, p1_hops: one.p1_hops, p99_hops: one.p99_hops }
        : {
            scenario,
            nodes: sizes,
            r,
            rows: results.map(({ nodes, mean_hops, p1_hops, p99_hops }) => ({ nodes, mean_hops, p1_hops, p99_hops })),
          };
    summary.target_met = results.every((x) => x.target_met);
    break;
  }
  case 'failure':
  case 'repair': {
    const nodes = nodesFlag ?? 10_000;
    const r = rFlag ?? failureR(nodes);
    const { failure, repair } = failureScenario({
      nodes,
      r,
      seed,
      lookups,
      loss,
      fraction: 0.5,
      ...(scenario === 'repair' ? { repairRounds: 10 } : {}),
    });
    if (scenario === 'failure') {
      rows = [{ ...failure }];
      summary = {
        scenario,
        nodes,
        r,
        correct_fraction: failure.correct_fraction,
        mean_hops: failure.mean_hops,
        baseline_mean_hops: failure.baseline_mean_hops,
        timeouts_per_lookup: failure.timeouts_per_lookup,
        target_met: failure.correct_fraction >= 0.999 && failure.hops_ratio <= 1.35,
      };
    } else {
      rows = repair!.per_round;
      summary = {
        scenario,
        nodes,
        r,
        live: repair!.live,
        rounds_to_invariants: repair!.rounds_to_invariants,
        target_met: repair!.rounds_to_invariants !== null && repair!.rounds_to_invariants <= 3,
      };
    }
    break;
  }
  case 'churn': {
    const nodes = nodesFlag ?? 1_000;
    const r = rFlag ?? 8;
    const models: SessionModel[] =
      values.sessions === undefined ? ['exponential', 'pareto'] : [values.sessions as SessionModel];
    for (const m of models) if (m !== 'exponential' && m !== 'pareto') usage(`unknown --sessions ${m}`);
    const results = models.map((sessions) =>
      churnScenario({ nodes, r, seed, loss, minutes: minutesFlag ?? 60, sessions }),
    );
    rows = results.map((x) => ({ ...x }));
    const worst = (k: 'lookup_success' | 'record_survival') => Math.min(...results.map((x) => x[k]));
    summary = {
      scenario,
      nodes,
      r,
      lookup_success: worst('lookup_success'),
      record_survival: worst('record_survival'),
      rows: results.map(({ sessions, lookup_success, record_survival }) => ({
        sessions,
        lookup_success,
        record_survival,
      })),
      target_met: worst('lookup_success') >= 0.99 && worst('record_survival') >= 0.999,
    };
    break;
  }
  case 'maintenance': {
    const nodes = nodesFlag ?? 10_000;
    const r = rFlag ?? 8;
    const m = maintenanceScenario({ nodes, r, seed, loss, minutes: minutesFlag ?? 10 });
    rows = [
      { type: 'all', msgs_per_node_min: m.msgs_per_node_min },
      ...Object.entries(m.by_type).map(([type, n]) => ({ type, msgs_per_node_min: n })),
    ];
    summary = {
      scenario,
      nodes,
      r,
      msgs_per_node_min: m.msgs_per_node_min,
      bytes_per_node_s: m.bytes_per_node_s,
      target_met: m.msgs_per_node_min <= 40,
    };
    break;
  }
  case 'overlay': {
    const sizes = nodesFlag !== undefined ? [nodesFlag] : [100, 1_000, 10_000];
    const results: OverlayRow[] = [];
    for (const nodes of sizes) {
      const t = performance.now();
      const maxLeaves = int('max-leaves', values['max-leaves']);
      const row = await overlayScenario({
        nodes,
        seed,
        measureMs: (minutesFlag ?? 5) * 60_000,
        net: { tabRole, ...(maxLeaves === undefined ? {} : { overlay: { maxLeaves } }) },
      });
      results.push(row);
      process.stderr.write(`overlay: ${nodes} nodes in ${((performance.now() - t) / 1000).toFixed(1)} s\n`);
    }
    rows = results.map((row) => {
      const { msgs_by_type, ...figures } = row;
      return { ...figures, targets_met: overlayTargetsMet(row).join(' ') };
    });
    summary = {
      scenario,
      rows: results.map(({ msgs_by_type, ...row }) => row),
      target_met: results.every((row) => overlayTargetsMissed(row).length === 0),
    };
    break;
  }
  default:
    throw new Error(`unknown --scenario ${scenario} (${SCENARIOS.join('|')})`);
}

summary.wall_s = Math.round((performance.now() - started) / 10) / 100;
if (!values.json) {
  console.log(`scenario ${scenario}, seed ${seed}, loss ${loss}`);
  console.log(table(rows));
}
console.log(JSON.stringify(summary));
