import { Injectable } from '@nestjs/common';

/** Port for outbound HTTP (undici's global fetch in production). */
@Injectable()
export class HttpClient {
  fetch(url: string, init: RequestInit): Promise<Response> {
    return fetch(url, init);
  }
}
