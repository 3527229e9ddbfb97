/**
 * The one error type of the local stack. Its message is meant to be printed as is: one line that says what
 * failed and what to do (which Debian package to install, which log file to read).
 */
export class StackError extends Error {
  override readonly name = 'StackError';
  constructor(
    message: string,
    readonly logFile?: string,
  ) {
    super(logFile ? `${message} (log: ${logFile})` : message);
  }
}
