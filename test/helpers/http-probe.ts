import { request as httpRequest } from 'node:http';

/** Whether anything answers an HTTP GET at `url` within a second (readiness probe). */
export function httpAnswers(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = httpRequest(url, { method: 'GET', timeout: 1000 }, (res) => {
      res.resume();
      resolve(true);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => {
      req.destroy();
      resolve(false);
    });
    req.end();
  });
}
