/**
 * Lambda entry point of the scheduled recalibration (see `recalibrate-handler.ts`). The configuration is
 * read and validated here, when the container starts: a bad one fails the start, naming the field.
 */
import { createRecalibrateHandler, type RecalibrateHandler } from './recalibrate-handler.ts';

export const handler: RecalibrateHandler = createRecalibrateHandler();
