import { LoggerService } from '@nestjs/common';
import type { LogLevel } from 'src/common/config/config';
import { SecretRedactor } from 'src/common/redaction/secret-redactor';
import { currentLogContext } from './request-context';

const LEVEL_RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export type LogSink = (line: string) => void;

/**
 * JSON-lines logger. Known secret values are replaced as a last line of
 * defence; the first line is never putting them in a message at all.
 */
export class JsonLogger implements LoggerService {
  // Short values would redact ordinary words; config enforces long secrets.
  private readonly secrets = new SecretRedactor({ placeholder: '[REDACTED]', minLength: 8 });

  constructor(
    private readonly level: LogLevel = 'info',
    private readonly sink: LogSink = (line) => process.stdout.write(line + '\n'),
  ) {}

  registerSecret(value: string): void {
    if (value.length < 8) {
      return;
    }
    // A line is JSON: a secret with quotes or backslashes shows escaped.
    this.secrets.addExact(value);
    this.secrets.addExact(JSON.stringify(value).slice(1, -1));
  }

  log(message: unknown, ...rest: unknown[]): void {
    this.write('info', message, rest);
  }
  error(message: unknown, ...rest: unknown[]): void {
    this.write('error', message, rest);
  }
  warn(message: unknown, ...rest: unknown[]): void {
    this.write('warn', message, rest);
  }
  debug(message: unknown, ...rest: unknown[]): void {
    this.write('debug', message, rest);
  }
  verbose(message: unknown, ...rest: unknown[]): void {
    this.write('debug', message, rest);
  }
  fatal(message: unknown, ...rest: unknown[]): void {
    this.write('error', message, rest);
  }

  private write(level: LogLevel, message: unknown, rest: unknown[]): void {
    if (LEVEL_RANK[level] < LEVEL_RANK[this.level]) {
      return;
    }
    // Nest passes (message, context) or (message, stack, context).
    const params = [...rest];
    const context = typeof params.at(-1) === 'string' ? (params.pop() as string) : undefined;
    const entry: Record<string, unknown> = {
      time: new Date().toISOString(),
      level,
      context,
      ...currentLogContext(),
    };
    if (message instanceof Error) {
      entry.msg = message.message;
      entry.stack = message.stack;
    } else if (typeof message === 'object' && message !== null) {
      Object.assign(entry, message);
    } else {
      entry.msg = String(message);
    }
    if (params.length > 0 && typeof params[0] === 'string' && level === 'error') {
      entry.stack = params[0];
    }
    this.sink(this.redact(JSON.stringify(entry)));
  }

  private redact(line: string): string {
    return this.secrets.redact(line);
  }
}
