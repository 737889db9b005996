import type { Request, Response } from 'express';
import type { Symphony } from '../lib/index.js';
import { healthStatus } from './health.js';

/**
 * `GET /healthz` for load balancers: 200 while Symphony accepts connections, 503 once it shuts
 * down, so the balancer stops routing new users to a node that is draining.
 */
export function healthHandler(symphony: Symphony): (request: Request, response: Response) => void {
  return (_request, response) => {
    const { status, body } = healthStatus(symphony);
    response.status(status).json(body);
  };
}
