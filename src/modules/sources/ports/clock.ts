import { Injectable } from '@nestjs/common';

/** Port for time, so small tests control it. */
@Injectable()
export class Clock {
  now(): Date {
    return new Date();
  }
}
