/**
 * The HTTP API (operators: redeploy, rollback, history). This is its skeleton: the routes
 * come with the API issue; until then every path answers in the Google API error shape.
 */
import type {Request, Response} from '@google-cloud/functions-framework';
import type {Deps} from '../controller/deps';

/** Writes a Google-API-shaped error. */
export function sendError(res: Response, code: number, status: string, message: string): void {
  res.status(code).json({error: {code, status, message}});
}

/** Handles one HTTP request. */
export async function handleHttp(deps: Deps, req: Request, res: Response): Promise<void> {
  if (req.method === 'GET' && (req.path === '/' || req.path === '')) {
    res.json({name: 'dropdeploy', project: deps.config.projectId, region: deps.config.region, api: 'v1 (routes not yet available)'});
    return;
  }
  sendError(res, 404, 'NOT_FOUND', `no route for ${req.method} ${req.path}; the release API is not available in this version`);
}
