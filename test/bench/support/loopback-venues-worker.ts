/** The worker thread of `loopback-venues.ts`: serves the venues and answers the bench's messages. */
import { parentPort, workerData } from 'node:worker_threads';
import {
  type SyntheticInstrument,
  serveVenues,
  threadCpuSeconds,
  type VenueServers,
} from './loopback-venues.ts';

const { instruments } = workerData as { instruments: SyntheticInstrument[] };
let venues: VenueServers | undefined;

parentPort?.on('message', async ({ id, op, arg }: { id: number; op: string; arg?: unknown }) => {
  try {
    let value: unknown;
    if (op === 'start') {
      venues = await serveVenues(instruments);
      value = venues.baseUrls;
    } else if (!venues) {
      throw new Error(`${op} before start`);
    } else if (op === 'setNow') venues.setNow(arg as number);
    else if (op === 'stats') value = venues.stats();
    else if (op === 'cpu') value = threadCpuSeconds();
    else if (op === 'reset') venues.reset();
    else if (op === 'close') await venues.close();
    else throw new Error(`unknown op ${op}`);
    parentPort?.postMessage({ id, value });
  } catch (error) {
    parentPort?.postMessage({ id, error: error instanceof Error ? error.message : String(error) });
  }
});
