/** Base of every error qmt raises on purpose; callers branch on `instanceof`, never on message text. */
export class QmtError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'QmtError';
  }
}

/** Market data that cannot be used: names the instrument and, where one candle is at fault, its time. */
export class MarketDataError extends QmtError {
  constructor(
    message: string,
    readonly instrument: string,
    readonly candleTime?: number,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'MarketDataError';
  }
}

/** A policy or configuration value that fails validation: `path` names the field. */
export class PolicyError extends QmtError {
  constructor(
    message: string,
    readonly path: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'PolicyError';
  }
}

/** An account record that cannot be valued: `accountId` (or the raw key) and the reason. */
export class AccountRecordError extends QmtError {
  constructor(
    message: string,
    readonly accountKey: string,
    readonly reason: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'AccountRecordError';
  }
}

/** Another writer flipped the CURRENT threshold pointer first. */
export class ThresholdSetConflictError extends QmtError {
  constructor(
    message: string,
    readonly expectedPreviousSetId: string | undefined,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'ThresholdSetConflictError';
  }
}

/** A market-data venue that could not be read (timeout, HTTP error after retries, malformed body). */
export class MarketSourceError extends QmtError {
  constructor(
    message: string,
    readonly venue: string,
    readonly instrument: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'MarketSourceError';
  }
}

// Raised by market sources for an instrument the catalogue does not know or a venue does not list: part of the
// market source contract, so use cases can hold that one instrument and go on.
/** An instrument the catalogue does not know: names it and the ones it does. */
export class UnknownInstrumentError extends QmtError {
  constructor(
    readonly instrument: string,
    readonly known: readonly string[],
  ) {
    super(
      `unknown instrument "${instrument}": the instrument catalogue knows ${known.length > 0 ? known.join(', ') : 'none'}`,
    );
    this.name = 'UnknownInstrumentError';
  }
}

/** A known instrument that the catalogue does not list on `venue` (or, for `deribit-dvol`, has no DVOL). */
export class InstrumentNotListedError extends QmtError {
  constructor(
    readonly instrument: string,
    readonly venue: string,
  ) {
    super(`instrument "${instrument}" is not listed on ${venue} in the instrument catalogue`);
    this.name = 'InstrumentNotListedError';
  }
}
