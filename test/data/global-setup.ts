/**
 * The data projects' precondition: `../shared` beside the checkout. Without it, one message saying so
 * instead of every test failing on a missing file.
 */
import { existsSync } from 'node:fs';
import { SHARED_DATA, SHARED_DIR, SHARED_REFERENCE } from './shared.ts';

export default function requireShared(): void {
  const missing = [SHARED_DATA, SHARED_REFERENCE].filter((dir) => !existsSync(dir));
  if (missing.length > 0) {
    throw new Error(
      `npm run test:data reads the real price files in ../shared beside the checkout (${SHARED_DIR}); ` +
        `missing: ${missing.join(', ')}. npm test needs only the repository.`,
    );
  }
}
