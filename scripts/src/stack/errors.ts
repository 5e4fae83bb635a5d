/**
 * Something the local stack needs is missing or taken. The message is one line meant for the
 * person running `npm start`: what is wrong, and what to install or which variable to set.
 */
export class PrerequisiteError extends Error {
  override name = 'PrerequisiteError';
}

/** A port the local stack wants is already bound by another process. */
export class PortInUseError extends PrerequisiteError {
  override name = 'PortInUseError';

  constructor(
    readonly port: number,
    message: string,
  ) {
    super(message);
  }
}
